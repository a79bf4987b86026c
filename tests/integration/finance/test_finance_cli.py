"""``refunds tokens create``, ``refunds ledger report`` and ``refunds ledger export``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import check_token, hash_token
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from tests.fakes.finance_scene import Scene, make_scene


@pytest.fixture
def scene(sqlite_url: str, now: datetime) -> Iterator[Scene]:
    made = make_scene(sqlite_url, now)
    yield made
    made.shop.runtime.engine.dispose()


def invoke(db_url: str, *args: str) -> object:
    return CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": db_url})


def test_a_created_token_is_printed_once_and_stored_only_as_its_hash(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    result = invoke(sqlite_url, "tokens", "create", "--role", "admin", "--name", "Ada",
                    "--expires-days", "2")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("rfd_")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, role, token_hash FROM tokens")).all()
    assert [tuple(r) for r in rows] == [("Ada", "admin", hash_token(secret))]
    who = check_token(engine, secret, datetime.now(UTC))
    assert who is not None and who.role == "admin"
    assert check_token(engine, secret, datetime.now(UTC) + timedelta(days=2, seconds=1)) is None
    engine.dispose()


def test_an_unknown_role_creates_no_token(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    result = invoke(sqlite_url, "tokens", "create", "--role", "owner", "--name", "Ada")
    assert result.exit_code == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tokens")).scalar_one() == 0
    engine.dispose()


def test_the_report_shows_the_period_totals_as_a_table(scene: Scene, sqlite_url: str) -> None:
    result = invoke(sqlite_url, "ledger", "report", "--since", "2026-11-01",
                    "--until", "2026-12-01")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # captured by payment day (o-2 was paid 400 days ago); the dry-run payout is not "refunded"
    assert lines[1].split() == ["currency", "decisions", "captured", "captured", "in", "stripe",
                                "test", "mode", "refunded", "credited", "dry",
                                "run", "stripe", "test", "mode", "kept", "waiting", "for",
                                "review", "decided", "by", "a", "person", "refund", "rate",
                                "sales", "kept", "(retained)", "exchanges", "paid", "in",
                                "stripe", "test", "mode"]
    assert lines[2].split() == ["EUR", "2", "25.00", "EUR", "0.00", "EUR", "0.00", "EUR",
                                "0.00", "EUR",
                                "25.00", "EUR", "0.00", "EUR", "0.00", "EUR", "1", "(40.00",
                                "EUR)", "0",
                                "approved", "(0.00", "EUR),", "0", "declined", "0.00%",
                                "0", "(0.00", "EUR)", "0.00", "EUR"]
    as_json = json.loads(invoke(sqlite_url, "ledger", "report", "--since", "2026-11-01",
                                "--until", "2026-12-01", "--json").output)
    assert (as_json["totals"][0]["refunded"], as_json["totals"][0]["dry_run"]) == (0, 2500)


def test_the_reports_help_names_every_column_it_prints_with_the_dry_run(
    scene: Scene, sqlite_url: str
) -> None:
    said = " ".join(invoke(sqlite_url, "ledger", "report", "--help").output.split())
    assert ("Totals for a period, one row per currency. Columns: currency; decisions; captured "
            "(payments, not order totals: `insights costs` compares with order value; not those "
            "Stripe captured in its test mode); captured in stripe test mode (a test key's "
            "payments: no real money taken, so not in captured nor the refund rate); "
            "refunded; credited (bonus included); dry run (what went to the dry-run provider: "
            "no money moved, so it is in neither refunded nor credited); stripe test mode (what "
            "Stripe refunded or credited in its test mode, a test key: no real money moved, so "
            "it is in neither refunded nor credited); kept (items kept without a return); "
            "waiting for review (how many, and their amount); decided by a person (approved at "
            "the final amount, or declined); refund rate (refunded, of what was captured); sales "
            "kept (retained): exchanges, with the revenue they retained; exchanges paid in stripe "
            "test mode (differences and originals paid through a Checkout Session Stripe made in "
            "its test mode: no real money taken, so not in sales kept)."
            ) in said
    assert ("how many missed the promised time or are overdue, and how many went to the dry run "
            "(no money moved) or to Stripe's test mode (no real money moved).") in said
    # the table's own header, in the same order
    printed = invoke(sqlite_url, "ledger", "report", "--since", "2026-11-01").output
    header = " ".join(printed.splitlines()[1].split())
    assert header == ("currency decisions captured captured in stripe test mode refunded "
                      "credited dry run stripe test mode "
                      "kept waiting for review decided by a person refund rate sales kept "
                      "(retained) exchanges paid in stripe test mode")
    assert ("dry run (no money moved): 1 decision(s); stripe test mode (no real money moved): "
            "0 decision(s)") in printed


def test_export_streams_csv_for_the_period_without_a_progress_bar_off_a_terminal(
    scene: Scene, sqlite_url: str
) -> None:
    result = CliRunner().invoke(
        main, ["ledger", "export", "--format", "csv", "--since", "2026-11-24",
               "--until", "2026-11-25"], env={"REFUNDS_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted((r["order_id"], r["outcome"], r["amount"], r["money_status"]) for r in rows) == [
        ("o-1", "approve", "2500", "dry_run"), ("o-2", "review", "4000", "none")]
    assert "exporting" not in result.stderr
    assert "exported 2 decision(s)" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_export_shows_a_progress_bar_when_stderr_is_a_terminal(
    scene: Scene, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from refunds_plugin.cli.ledger import export_with_progress

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    out = io.StringIO()
    assert export_with_progress(sqlite_url, out, "json", None, None) == 2
    assert "exporting" in terminal.getvalue()
    orders = sorted(json.loads(ln)["order_id"] for ln in out.getvalue().splitlines())
    assert orders == ["o-1", "o-2"]
