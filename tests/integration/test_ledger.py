"""The ledger after a full flow: a hash chain that verifies and breaks on any edit, and the CLI
that lists and exports it."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.finance.rows import EXPORT_COLUMNS, GRANTED
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import current_revision
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe


def _full_flow(harness: Harness, fake: FakeStripe) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested("r-1"))
    harness.clock.advance(400 * 86400)  # the second mug, long after its window closed
    harness.post_storefront(return_requested("r-2"))  # waits for a person
    harness.drain()


def test_the_hash_chain_verifies_after_a_full_flow(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    _full_flow(harness, fake_stripe)

    entries = harness.rows(ledger_entries)
    assert [e.entry_type for e in sorted(entries, key=lambda e: e.seq)] == [
        "order_total", "payment_captured", "decision", "attempt", "decision", "review_opened",
        "attempt"]
    assert harness.chain_problem() is None


def test_editing_any_ledger_entry_is_caught_by_the_chain(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    _full_flow(harness, fake_stripe)
    with harness.runtime.engine.begin() as conn:
        conn.execute(update(ledger_entries).where(ledger_entries.c.seq == 2).values(
            body='{"amount":9999}'))

    problem = harness.chain_problem()

    assert problem is not None
    assert (problem.seq, problem.problem) == (2, "edited")


@pytest.fixture
def ledger_db(sqlite_harness: Harness, fake_stripe: FakeStripe) -> str:
    _full_flow(sqlite_harness, fake_stripe)
    return sqlite_harness.db_url


def _run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": db_url},
                                catch_exceptions=False)
    return result.exit_code, result.stdout


def test_refunds_migrate_creates_the_schema_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    code, out = _run(url, "migrate")

    engine = make_engine(url)
    revision = current_revision(engine)
    engine.dispose()
    assert code == 0
    assert revision is not None
    assert out == f"database at revision {revision} (was empty)\n"
    assert _run(url, "migrate") == (0, f"database at revision {revision} (was {revision})\n")


def test_ledger_list_shows_each_decision_with_where_its_money_is(ledger_db: str) -> None:
    code, out = _run(ledger_db, "ledger", "list")

    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["created", "(UTC)", "decision", "order", "outcome", "review",
                                "resolution", "granted", "money", "reason"]
    rows = sorted(line.split()[3:] for line in lines[1:])
    assert rows == [  # never reviewed: "-"
        ["1001", "approve", "-", "refund", "25.00", "USD", "succeeded", "approved"],
        ["1001", "review", "open", "refund", "30.00", "USD", "none", "outside_window_review"],
    ]


def test_ledger_list_json_gives_one_object_per_decision(ledger_db: str) -> None:
    code, out = _run(ledger_db, "ledger", "list", "--json")

    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert sorted((r["request_key"], r["outcome"], r["amount"], r["money_status"])
                  for r in rows) == [("return:r-1", "approve", 2500, "succeeded"),
                                     ("return:r-2", "review", 3000, "none")]


def test_ledger_list_json_writes_times_as_the_export_does(ledger_db: str) -> None:
    listed = {r["id"]: r for r in map(json.loads, _run(ledger_db, "ledger", "list", "--json")[1]
                                      .splitlines())}
    exported = {r["id"]: r for r in map(json.loads, _run(ledger_db, "ledger", "export",
                                                         "--format", "json")[1].splitlines())}

    assert sorted(listed) == sorted(exported)
    for decision_id, row in listed.items():  # ISO 8601 in UTC with its offset, to the second
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["created_at"])
        assert row["created_at"] == exported[decision_id]["created_at"]


def test_ledger_export_csv_has_the_documented_columns_and_exact_amounts(ledger_db: str) -> None:
    code, out = _run(ledger_db, "ledger", "export", "--format", "csv")

    reader = csv.DictReader(io.StringIO(out))
    rows = sorted(reader, key=lambda r: r["request_key"])
    assert code == 0
    # the documented columns in their old places, then the amounts in major units
    assert reader.fieldnames == [*EXPORT_COLUMNS, "amount_decimal", "refund_amount_decimal",
                                 "credit_amount_decimal", "credit_bonus_decimal",
                                 *GRANTED, *(g + "_decimal" for g in GRANTED)]
    assert [(r["request_key"], r["amount"], r["currency"], r["amount_text"], r["money_status"],
             r["amount_decimal"], r["credit_bonus_decimal"]) for r in rows] == [
        ("return:r-1", "2500", "USD", "25.00 USD", "succeeded", "25.00", "0.00"),
        ("return:r-2", "3000", "USD", "30.00 USD", "none", "30.00", "0.00")]


def test_ledger_export_json_matches_the_attempts_in_the_ledger(
    ledger_db: str, sqlite_harness: Harness
) -> None:
    code, out = _run(ledger_db, "ledger", "export", "--format", "json")

    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    [attempt] = sqlite_harness.rows(refund_attempts)
    assert code == 0
    approved = next(r for r in rows if r["outcome"] == "approve")
    assert (approved["id"], approved["refund_amount"], approved["policy_name"]) == (
        attempt.decision_id, 2500, "default")


@pytest.mark.parametrize("command", [
    [], ["migrate"], ["serve"], ["ledger"], ["ledger", "list"], ["ledger", "export"],
])
def test_every_command_explains_itself_with_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])

    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert "--help" in result.stdout
