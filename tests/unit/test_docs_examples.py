"""The worked examples in docs/ run as written and print what the docs say they print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from refunds_plugin.cli import main

ROOT = Path(__file__).parents[2]


def test_the_policy_explain_input_example_decides_as_docs_policy_md_says(
    tmp_path: Path,
) -> None:
    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    block = doc.split("a `case.json` for one of two mugs", 1)[1]
    case = block.split("```json\n", 1)[1].split("```", 1)[0]
    promised = block.split("ends with: \"", 1)[1].split('"\n', 1)[0]
    (tmp_path / "case.json").write_text(case, encoding="utf-8")

    shown = CliRunner().invoke(main, ["policy", "explain", "--policy", "preset:standard-30-day",
                                      "--input", str(tmp_path / "case.json")])

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip("\n").splitlines()[-1] == " ".join(promised.split())
    assert re.search(r"^outcome:\s+approve \(approved\)$", shown.stdout, re.M)


def _yaml_blocks() -> list[tuple[str, int, str]]:
    """Every ```yaml block of README.md and docs/*.md: (file, line, text)."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```ya?ml\n(.*?)^```", text, re.M | re.S):
            line = text.count("\n", 0, m.start()) + 1
            found.append((path.relative_to(ROOT).as_posix(), line, m.group(1)))
    return found


BLOCKS = _yaml_blocks()
REQUIRED = {"window": {"days": 30}}  # what a snippet may leave to the file


def test_the_docs_have_policy_examples_to_check() -> None:
    assert {f for f, _, _ in BLOCKS} >= {"README.md", "docs/policy.md", "docs/trouble.md"}


@pytest.mark.parametrize(("doc", "line", "snippet"), BLOCKS,
                         ids=[f"{f}:{n}" for f, n, _ in BLOCKS])
def test_every_policy_snippet_in_the_docs_passes_policy_check(
    doc: str, line: int, snippet: str, tmp_path: Path,
) -> None:
    """A snippet is a part of a policy file: as written, with the one setting every file
    needs (a window) where it leaves that out, ``refunds policy check`` accepts it. An amount
    in a snippet without ``currency:`` names its currency, as the file it is pasted into
    may have none (the README's ``fee: "6.00"`` was refused there)."""
    settings = yaml.safe_load(snippet)
    assert isinstance(settings, dict), f"{doc}:{line}: not a mapping of policy settings"
    whole = {**REQUIRED, **settings}
    (tmp_path / "example.yaml").write_text(yaml.safe_dump(whole), encoding="utf-8")

    checked = CliRunner().invoke(main, ["policy", "check", str(tmp_path / "example.yaml")])

    assert checked.exit_code == 0, f"{doc}:{line}: {checked.output}"
