"""The docs name files that exist: every backticked path in README.md, docs/ and bench/README.md.

A path in backticks (`refunds_plugin/ledger/tables.py`, `python bench/bench_export.py --rows 10`,
`tests/process/test_crash_and_outage.py::test_a_receiver_killed…`) must name a file of this
checkout, so a module that moves takes its docs with it. A path from the repository root is
checked as written; a shorter one (`ledger/orders.py`, `returns/views.py`) must exist under one of
the code roots; a bare file name (`test_executor.py`) must exist somewhere in the tree. A test
named after ``::`` must be defined in its file (a trailing "…" means "starting with"). Paths
outside the checkout (``../shared/…``), placeholders (``<name>``) and globs are handled as such.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/*.md", "bench/README.md")
# where a path that does not start at the repository root may live
CODE_ROOTS = ("refunds_plugin", "webhooks", "policies", "tests", "bench")
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", "test-artifacts"}

SPAN = re.compile(r"`([^`\n]+)`")
# a .py path (or a folder under a code root, ending in "/"), with an optional ::test name
ROOTS = "|".join(CODE_ROOTS)
PATH = re.compile(rf"(?<![\w./-])((?:\.\./)?[\w*./-]*[\w*]\.py|(?:{ROOTS})/[\w./-]*/?)(::[\w…]+)?")


def doc_files() -> list[Path]:
    found = sorted({p for pattern in DOCS for p in ROOT.glob(pattern)})
    assert len(found) >= 8, found  # README, bench/README and the docs/ pages are all read
    return found


def named_paths(text: str) -> list[tuple[str, str | None]]:
    """Every (path, test name) written inside backticks in ``text``."""
    out = []
    for span in SPAN.findall(text):
        for m in PATH.finditer(span):
            out.append((m.group(1), m.group(2)[2:] if m.group(2) else None))
    return out


@cache
def files_named(name: str) -> tuple[Path, ...]:
    return tuple(p for p in ROOT.rglob(name) if not SKIP_DIRS.intersection(p.parts))


def resolve(path: str) -> list[Path]:
    """The files (or folders) of this checkout that ``path`` can mean; empty when none."""
    if "/" not in path:
        return list(files_named(path))
    if any(ch in path for ch in "*?["):
        return sorted(ROOT.glob(path))
    candidates = [ROOT / path] + [ROOT / root / path for root in CODE_ROOTS
                                  if not path.startswith(root + "/")]
    return [c for c in candidates if c.exists()]


def defines(files: list[Path], test: str) -> bool:
    prefix = test.endswith("…")
    name = test.rstrip("…")
    tail = r"\w*\(" if prefix else r"\("
    pattern = re.compile(r"^\s*def " + re.escape(name) + tail, re.M)
    return any(f.is_file() and pattern.search(f.read_text(encoding="utf-8")) for f in files)


def problems_in(doc: Path) -> list[str]:
    out = []
    for line_no, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for path, test in named_paths(line):
            if path.startswith("../") or "<" in path:
                continue  # outside this checkout, or a placeholder like bench/<name>.py
            where = f"{doc.relative_to(ROOT)}:{line_no}"
            files = resolve(path)
            if not files:
                out.append(f"{where}: `{path}` does not exist")
            elif test and not defines(files, test):
                out.append(f"{where}: `{path}` defines no test `{test}`")
    return out


def test_the_reader_finds_paths_in_backticks_and_only_there() -> None:
    text = (
        "See `refunds_plugin/ledger/tables.py` and `python bench/bench_export.py --rows 10`, "
        "`tests/process/test_crash_and_outage.py::test_a_receiver_killed…`, "
        "`ledger/orders.py` (`open_follow_up`), `test_executor.py`, `webhooks/returns/`, "
        "`tests/unit/policies/test_policy_preset_*.py`, `../shared/DESIGN.md`, "
        "`providers/stripe.py: classify`; not refunds_plugin/outside.py, nor `refunds ledger`."
    )
    assert named_paths(text) == [
        ("refunds_plugin/ledger/tables.py", None),
        ("bench/bench_export.py", None),
        ("tests/process/test_crash_and_outage.py", "test_a_receiver_killed…"),
        ("ledger/orders.py", None),
        ("test_executor.py", None),
        ("webhooks/returns/", None),
        ("tests/unit/policies/test_policy_preset_*.py", None),
        ("providers/stripe.py", None),
    ]


def test_a_moved_module_or_a_renamed_test_is_reported() -> None:
    doc = ROOT / "docs" / "architecture.md"
    assert not problems_in(doc), problems_in(doc)
    assert resolve("refunds_plugin/verify.py") == []  # the flat layout's name
    assert resolve("finance/verify.py") == [ROOT / "refunds_plugin/finance/verify.py"]
    assert resolve("returns/strings.py") == [ROOT / "webhooks/returns/strings.py"]
    assert resolve("trouble_events.py") == []
    executor_tests = resolve("tests/integration/reliability/test_executor.py")
    assert defines(executor_tests, "test_an_expired_lease…")
    assert not defines(executor_tests, "test_an_expired_lease")  # a whole name must match
    assert not defines(executor_tests, "test_that_was_renamed…")


def test_every_path_the_docs_name_exists() -> None:
    problems = [p for doc in doc_files() for p in problems_in(doc)]
    assert not problems, "the docs name files that are not there:\n  " + "\n  ".join(problems)
