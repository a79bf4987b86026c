"""A command taking a decision's id takes it whole or as its first 8 or more characters, as
``ledger list`` shows them (``refunds mail preview --decision``); a start that matches several
decisions, or none, is a usage error (exit 2) saying so, never a guess."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from refunds_plugin.cli import main
from refunds_plugin.ledger import decisions as recorded
from tests.fakes.shop import Shop

SHARED = [f"26ff0a1b-0000-4000-8000-00000000000{n}" for n in range(1, 8)]  # 7 share a start
ALONE = "7c3e9d10-5f2a-4b61-9e0d-3a8c1f7b2e44"
USAGE = ("Usage: main mail preview [OPTIONS] KIND\n"
         "Try 'main mail preview --help' for help.\n\n")


@pytest.fixture
def shop(sqlite_url: str, now: datetime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """Eight approved returns whose decisions have the ids above (the ledger draws them)."""
    ids = iter([*SHARED, ALONE])
    monkeypatch.setattr(recorded, "uuid", SimpleNamespace(uuid4=lambda: next(ids)))
    made = Shop(sqlite_url, now)
    for n in range(1, 9):
        made.order(f"o-{n}", 2500, f"c{n}@example.com")
        assert made.ask_return(f"o-{n}", f"r-{n}")["outcome"] == "approve"
    yield made
    made.runtime.engine.dispose()


def _preview(db_url: str, decision: str) -> Result:
    return CliRunner().invoke(main, ["mail", "preview", "approved", "--decision", decision],
                              env={"REFUNDS_DATABASE_URL": db_url})


def test_the_eight_characters_ledger_list_shows_preview_the_same_email_as_the_whole_id(
    shop: Shop, sqlite_url: str
) -> None:
    listed = CliRunner().invoke(main, ["ledger", "list"], env={"REFUNDS_DATABASE_URL": sqlite_url})
    assert "7c3e9d10" in listed.stdout and ALONE not in listed.stdout

    whole, start = _preview(sqlite_url, ALONE), _preview(sqlite_url, "7c3e9d10")
    longer = _preview(sqlite_url, "7c3e9d10-5f2a")

    assert whole.exit_code == 0, whole.output
    assert whole.stdout.startswith("To: c8@example.com\nSubject: ")
    assert (start.exit_code, start.stdout) == (0, whole.stdout)
    assert (longer.exit_code, longer.stdout) == (0, whole.stdout)


def test_a_start_several_decisions_share_is_refused_naming_five_of_them(
    shop: Shop, sqlite_url: str
) -> None:
    shared = _preview(sqlite_url, "26ff0a1b")

    assert shared.exit_code == 2
    assert shared.stdout == ""
    assert shared.stderr == USAGE + (
        "Error: Invalid value for '--decision': '26ff0a1b' is the start of 7 decisions: "
        + ", ".join(SHARED[:5]) + " and 2 more; give more of the id\n")
    one = _preview(sqlite_url, SHARED[1])  # the whole id is never ambiguous
    assert one.exit_code == 0, one.output


def test_an_unknown_or_too_short_start_is_a_usage_error(shop: Shop, sqlite_url: str) -> None:
    unknown = _preview(sqlite_url, "0badf00d")
    short = _preview(sqlite_url, "7c3e9d1")

    assert (unknown.exit_code, unknown.stderr) == (2, USAGE + (
        "Error: Invalid value for '--decision': no decision starts with '0badf00d' "
        "(`refunds ledger list` shows the newest)\n"))
    assert (short.exit_code, short.stderr) == (2, USAGE + (
        "Error: Invalid value for '--decision': give a decision's id or its first 8 or more "
        "characters (as `refunds ledger list` shows them), not '7c3e9d1'\n"))
