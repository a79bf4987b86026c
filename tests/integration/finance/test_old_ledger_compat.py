"""A ledger written by the old code (commit b3d771f, the last flat layout) verifies with the new
``refunds ledger verify``, the new code appends to it without breaking the chain, and an edit of
one old body is still found and named.

The old ledger is ``tests/fixtures/old_ledger_b3d771f.json``: every row the old app wrote for a
refund that succeeded (and Stripe's ``charge.refunded`` reporting it), a refund declined by Stripe
whose review was approved and paid again, a store credit with its bonus, and a declined return
(``tests/fixtures/make_old_ledger.py`` made it, run inside that commit's tree). It is loaded row
by row into a database migrated by the new code, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import DateTime, Engine, select, text

from refunds_plugin.cli import main
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import ledger_entries, metadata
from tests.fakes.shop import Shop

FIXTURE = Path(__file__).parents[2] / "fixtures" / "old_ledger_b3d771f.json"
OLD = json.loads(FIXTURE.read_text(encoding="utf-8"))["tables"]
OLD_HEAD = OLD["ledger_entries"][-1]  # seq 16: the declined return's decision
VERIFIED = "ledger verified: {} entries, the chain holds and every row matches its entries\n"
# the old code journalled no captured amounts or totals: its four payments and orders are counted
# as recorded before, not failures; the new code's order and payment are checked
PAID = ("what was paid: {} payment{s} and {} order{s} checked against their entries; 4 payments "
        "and 4 orders recorded before captured amounts and totals were journalled (not checked)\n")


def load_old_ledger(engine: Engine) -> None:
    """Insert the old rows as they were, then move PostgreSQL's id sequences past them."""
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = OLD.get(table.name)  # a table added since b3d771f starts empty
            if not rows:
                continue
            times = [c.name for c in table.columns if isinstance(c.type, DateTime)]
            conn.execute(table.insert(), [
                {**row, **{n: datetime.fromisoformat(row[n]) for n in times if row.get(n)}}
                for row in rows
            ])
            pk = list(table.primary_key.columns)
            if conn.dialect.name == "postgresql" and pk[0].autoincrement is True:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                    f"(SELECT max({pk[0].name}) FROM {table.name}))"
                ))


@pytest.fixture
def old_ledger(any_db_url: str) -> Iterator[Engine]:
    """A database migrated by the new code, holding the old ledger."""
    engine = make_engine(any_db_url)
    load_old_ledger(engine)
    yield engine
    engine.dispose()


def verify(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ledger", "verify", *args],
                                env={"REFUNDS_DATABASE_URL": db_url})
    return result.exit_code, result.output


def journal(engine: Engine, after: int = 0) -> list[tuple[int, str, dict[str, Any], str]]:
    le = ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(le.seq, le.entry_type, le.body, le.prev_hash)
                            .where(le.seq > after).order_by(le.seq)).all()
    return [(int(seq), kind, json.loads(body), prev) for seq, kind, body, prev in rows]


def test_the_fixture_is_the_old_scene_and_matches_the_new_schema() -> None:
    # every old table and column is still there; tables and columns added since start empty
    new_tables = {t.name: t for t in metadata.sorted_tables}
    assert set(OLD) <= set(new_tables), set(OLD) - set(new_tables)
    for name, rows in OLD.items():
        for row in rows:
            assert set(row) <= set(new_tables[name].c.keys()), name
    assert [r["entry_type"] for r in OLD["ledger_entries"]] == [
        "decision", "attempt", "attempt", "stripe_refunded", "payment_refunded",
        "decision", "attempt", "attempt", "review_opened", "attempt", "review_decided", "attempt",
        "decision", "attempt", "attempt", "decision",
    ]
    assert sorted((r["order_id"], r["seq"], r["kind"], r["status"])
                  for r in OLD["refund_attempts"]) == [
        ("1001", 0, "refund", "succeeded"), ("1002", 0, "refund", "failed"),
        ("1002", 1, "refund", "succeeded"), ("1003", 0, "credit", "succeeded"),
    ]
    assert [r["status"] for r in OLD["reviews"]] == ["approved"]


def test_an_old_ledger_verifies_with_the_new_command(old_ledger: Engine, any_db_url: str) -> None:
    assert verify(any_db_url) == (0, VERIFIED.format(16) + PAID.format(0, 0, s="s"))
    anchor = f"{OLD_HEAD['seq']}:{OLD_HEAD['hash']}"
    assert verify(any_db_url, "--anchor", anchor) == (
        0, VERIFIED.format(16).replace("entries\n", "entries; 1 anchor(s) hold\n")
        + PAID.format(0, 0, s="s"))


def test_the_new_code_appends_to_an_old_ledger_without_breaking_the_chain(
    old_ledger: Engine, any_db_url: str, now: datetime
) -> None:
    shop = Shop(any_db_url, now)
    shop.order("o-new", 4000, "dee@example.com")
    answer = shop.ask_return("o-new", "r-new")
    assert (answer["outcome"], answer["refund_amount"]) == ("approve", 4000)
    shop.pay_out()
    engine = shop.runtime.engine

    new = journal(engine, after=OLD_HEAD["seq"])
    assert [(seq, kind) for seq, kind, _, _ in new] == [
        (17, "order_total"), (18, "payment_captured"), (19, "decision"), (20, "attempt"),
        (21, "attempt")]
    assert new[0][3] == OLD_HEAD["hash"]  # the first new entry links to the old head
    assert new[0][2] == {"order_id": "o-new", "currency": "EUR", "total_amount": 4000}
    assert new[1][2] == {"provider": "stripe", "reference": "pay_o-new", "order_id": "o-new",
                         "currency": "EUR", "captured": 4000}
    assert new[4][2]["status"] == "succeeded"
    # the new code writes entries of the old shape, with what verify now also holds rows to:
    # a decision's customer and time, an attempt's order and customer (old entries lack them)
    old = journal(engine)[: OLD_HEAD["seq"]]
    assert sorted(new[2][2]["decision"]) == sorted(old[0][2]["decision"])
    assert sorted(new[2][2]) == sorted([*old[0][2], "customer_id", "customer_email",
                                        "created_at"])
    assert (new[2][2]["order_id"], new[2][2]["customer_email"]) == ("o-new", "dee@example.com")
    added = ["order_id", "customer_id", "customer_email"]
    assert sorted(new[3][2]) == sorted([*old[1][2], *added])  # a refund attempt, pending
    assert sorted(new[4][2]) == sorted(old[2][2])  # the same attempt, succeeded

    assert verify(any_db_url) == (0, VERIFIED.format(21) + PAID.format(1, 1, s=""))
    anchor = f"{OLD_HEAD['seq']}:{OLD_HEAD['hash']}"
    assert verify(any_db_url, "--anchor", anchor)[0] == 0
    engine.dispose()  # the shop's own engine


def test_an_edited_old_entry_body_fails_verify_naming_the_entry(
    old_ledger: Engine, any_db_url: str
) -> None:
    with old_ledger.begin() as conn:  # the credit's bonus, 250 → 2500, in entry 14
        conn.execute(text("UPDATE ledger_entries SET body = replace(body, :was, :now) "
                          "WHERE seq = 14"), {"was": '"bonus":250,', "now": '"bonus":2500,'})
    attempt = OLD["ledger_entries"][13]["subject_id"]
    assert verify(any_db_url) == (1, (
        f"LEDGER ALTERED: first problem at entry 14: edited: entry 14 (attempt {attempt}) does "
        "not match its hash: its content was edited after it was written\n"))


def test_an_edited_old_decision_body_fails_verify_naming_the_row(
    old_ledger: Engine, any_db_url: str
) -> None:
    [credit] = [r for r in OLD["decisions"] if r["order_id"] == "1003"]
    with old_ledger.begin() as conn:
        conn.execute(text("UPDATE decisions SET body = replace(body, '27.50', '275.00') "
                          "WHERE id = :id"), {"id": credit["id"]})
    assert verify(any_db_url) == (1, (
        f"LEDGER ALTERED: first problem at decisions row {credit['id']} (order 1003): "
        "row_edited: differs from entry 13: its stored body differs from the journal's\n"))
