"""The worked examples in docs/ run as written and print what the docs say they print."""

from __future__ import annotations

import re
from pathlib import Path

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
