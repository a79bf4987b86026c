"""Tamper evidence: any single edited, deleted or swapped row is found, named, and makes
``refunds ledger verify`` exit non-zero. Rows are altered with raw SQL, as an intruder would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from refunds_plugin.cli import main
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.reviews import open_review
from tests.fakes.shop import Shop


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    """Two paid-out refunds and one decision waiting for review, all through signed events."""
    shop = Shop(any_db_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    shop.order("o-2", 4000, "bob@example.com")
    shop.order("o-3", 9900, "cy@example.com", paid_days_ago=400)
    shop.ask_return("o-1", "r-1")
    shop.ask_return("o-2", "r-2")
    shop.ask_return("o-3", "r-3")  # outside the window: review
    shop.pay_out()
    yield shop
    shop.runtime.engine.dispose()


def tamper(engine: Engine, *statements: str, **params: object) -> None:
    """Raw SQL with foreign keys off, the way someone with database access would edit."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.connection.cursor().execute("PRAGMA foreign_keys=OFF")  # outside a transaction
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for sql in statements:
                conn.execute(text(sql), params)


def one(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def decision_id(engine: Engine, order_id: str) -> str:
    return str(one(engine, "SELECT id FROM decisions WHERE order_id = :o", o=order_id))


def attempt_id(engine: Engine, order_id: str) -> str:
    return str(one(engine, "SELECT id FROM refund_attempts WHERE order_id = :o", o=order_id))


def verify_cli(db_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ledger", "verify"], env={"REFUNDS_DATABASE_URL": db_url})
    return result.exit_code, result.output


def test_an_untouched_ledger_verifies_and_the_command_exits_zero(
    shop: Shop, any_db_url: str
) -> None:
    # each order's total and payment (6), the three decisions, two attempts paid out (8)
    assert one(shop.runtime.engine, "SELECT count(*) FROM ledger_entries") == 14
    assert verify_ledger(shop.runtime.engine) == []
    code, out = verify_cli(any_db_url)
    assert (code, out) == (
        0, "ledger verified: 14 entries, the chain holds and every row matches its entries\n"
           "what was paid: 3 payments and 3 orders checked against their entries; 0 payments "
           "and 0 orders recorded before captured amounts and totals were journalled (not "
           "checked)\n")
    as_json = CliRunner().invoke(main, ["ledger", "verify", "--json"],
                                 env={"REFUNDS_DATABASE_URL": any_db_url})
    assert (as_json.exit_code, json.loads(as_json.output)) == (0, {
        "ok": True, "entries_checked": 14, "unsealed": 0, "anchors_held": 0,
        "payments_checked": 3, "payments_before_journal": 0, "orders_checked": 3,
        "orders_before_journal": 0})


def test_an_empty_postgresql_ledger_says_nothing_of_sqlite_files(any_db_url: str) -> None:
    said = verify_cli(any_db_url)

    if any_db_url.startswith("sqlite"):
        assert said == (0, "ledger verified: nothing to check, the ledger has no entries (a "
                           "SQLite copy made without its -wal file looks empty: copy that file "
                           "with it)\n")
    else:
        assert said == (0, "ledger verified: nothing to check, the ledger has no entries\n")


def test_an_empty_ledger_says_there_was_nothing_to_check(sqlite_url: str) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    assert verify_cli(sqlite_url) == (
        0, "ledger verified: nothing to check, the ledger has no entries (a SQLite copy made "
           "without its -wal file looks empty: copy that file with it)\n")
    as_json = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=env)
    assert json.loads(as_json.output) == {
        "ok": True, "entries_checked": 0, "unsealed": 0, "anchors_held": 0,
        "payments_checked": 0, "payments_before_journal": 0, "orders_checked": 0,
        "orders_before_journal": 0}


def test_an_edited_entry_is_named_by_its_seq(shop: Shop, any_db_url: str) -> None:
    engine = shop.runtime.engine
    tamper(engine, "UPDATE ledger_entries SET body = replace(body, '2500', '2400') WHERE seq = 1")
    problems = verify_ledger(engine)
    assert (problems[0].where, problems[0].problem) == ("entry 1", "edited")
    code, out = verify_cli(any_db_url)
    assert code == 1
    assert "first problem at entry 1: edited" in out


def test_an_entry_rehashed_after_editing_is_still_caught_by_the_next_link(shop: Shop) -> None:
    engine = shop.runtime.engine
    tamper(engine, "UPDATE ledger_entries SET hash = :h WHERE seq = 3", h="f" * 64)
    problem = verify_ledger(engine)[0]
    assert problem.where == "entry 3"
    assert problem.problem == "edited"


def test_a_deleted_entry_in_the_middle_is_named_where_the_chain_breaks(shop: Shop) -> None:
    tamper(shop.runtime.engine, "DELETE FROM ledger_entries WHERE seq = 4")
    problem = verify_ledger(shop.runtime.engine)[0]
    assert (problem.where, problem.problem) == ("entry 5", "missing_or_reordered")


def test_two_swapped_entries_are_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    tamper(
        engine,
        "UPDATE ledger_entries SET seq = 100 WHERE seq = 2",
        "UPDATE ledger_entries SET seq = 2 WHERE seq = 3",
        "UPDATE ledger_entries SET seq = 3 WHERE seq = 100",
    )
    problem = verify_ledger(engine)[0]
    assert problem.where == "entry 2"
    assert problem.problem == "broken_link"


def test_deleting_the_newest_entry_is_found_through_the_row_it_described(shop: Shop) -> None:
    engine = shop.runtime.engine
    last = one(engine, "SELECT max(seq) FROM ledger_entries")
    subject = one(engine, "SELECT subject_id FROM ledger_entries WHERE seq = :s", s=last)
    tamper(engine, "DELETE FROM ledger_entries WHERE seq = :s", s=last)
    problems = verify_ledger(engine)
    assert len(problems) == 1
    assert problems[0].where == f"refund_attempts row {subject}"
    assert "status is 'succeeded' but the journal says 'pending'" in problems[0].detail


def test_an_edited_decision_amount_is_named_with_both_values(shop: Shop, any_db_url: str) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-2")
    tamper(engine, "UPDATE decisions SET amount = 400 WHERE id = :d", d=dec)
    problems = verify_ledger(engine)
    assert [p.where for p in problems] == [f"decisions row {dec} (order o-2)"]
    assert "amount is 400 but the journal says 4000" in problems[0].detail
    code, out = verify_cli(any_db_url)
    assert code == 1
    assert dec in out


def test_an_edited_explanation_or_outcome_is_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-3")
    tamper(
        engine,
        "UPDATE decisions SET outcome = 'decline', explanation = 'No.' WHERE id = :d",
        d=dec,
    )
    detail = verify_ledger(engine)[0].detail
    assert "outcome is 'decline' but the journal says 'review'" in detail
    assert "explanation is 'No.'" in detail


def test_swapped_amounts_between_two_decisions_name_both(shop: Shop) -> None:
    engine = shop.runtime.engine
    d1, d2 = decision_id(engine, "o-1"), decision_id(engine, "o-2")
    tamper(
        engine,
        "UPDATE decisions SET amount = 4000, refund_amount = 4000 WHERE id = :a",
        "UPDATE decisions SET amount = 2500, refund_amount = 2500 WHERE id = :b",
        a=d1,
        b=d2,
    )
    assert {p.where for p in verify_ledger(engine)} == {
        f"decisions row {d1} (order o-1)",
        f"decisions row {d2} (order o-2)",
    }


def test_a_deleted_decision_row_is_named(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-3")
    tamper(engine, "DELETE FROM decisions WHERE id = :d", d=dec)
    problem = verify_ledger(engine)[0]
    assert (problem.where, problem.problem) == (f"decisions row {dec}", "row_missing")


def test_an_attempt_marked_succeeded_that_failed_or_paid_more_is_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    att = attempt_id(engine, "o-1")
    tamper(engine, "UPDATE refund_attempts SET amount = 25000 WHERE id = :a", a=att)
    problems = verify_ledger(engine)
    assert [p.where for p in problems] == [f"refund_attempts row {att}"]
    assert "amount is 25000 but the journal says 2500" in problems[0].detail


def test_an_attempt_status_edit_is_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    att = attempt_id(engine, "o-2")
    tamper(engine, "UPDATE refund_attempts SET status = 'failed' WHERE id = :a", a=att)
    problem = verify_ledger(engine)[0]
    assert problem.where == f"refund_attempts row {att}"
    assert "status is 'failed' but the journal says 'succeeded'" in problem.detail


def test_a_deleted_attempt_row_is_named(shop: Shop) -> None:
    engine = shop.runtime.engine
    att = attempt_id(engine, "o-2")
    tamper(engine, "DELETE FROM refund_attempts WHERE id = :a", a=att)
    problem = verify_ledger(engine)[0]
    assert (problem.where, problem.problem) == (f"refund_attempts row {att}", "row_missing")


def test_a_review_marked_approved_without_a_journal_entry_is_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-3")
    tamper(engine, "UPDATE reviews SET status = 'approved' WHERE decision_id = :d", d=dec)
    problem = verify_ledger(engine)[0]
    assert problem.where.startswith("reviews row")
    assert "status is 'approved' but the journal says 'open'" in problem.detail


def reopen_after_approval(shop: Shop) -> str:
    """o-3's review approved, then its payout failed: the review is open again."""
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-3")
    decide(engine, shop.runtime.service, dec, approve=True, by="Ada", note="loyal", now=shop.now)
    with write_tx(engine) as conn:
        open_review(conn, dec, "attempt_failed: card_declined", shop.now)
    return dec


def test_a_review_reopened_by_a_later_failure_verifies(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = reopen_after_approval(shop)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(
            "SELECT status, reason, decided_by, decided_at, note FROM reviews "
            "WHERE decision_id = :d"), {"d": dec})] == [
            ("open", "attempt_failed: card_declined", None, None, None)]
        assert [tuple(r) for r in conn.execute(text(
            "SELECT entry_type, body FROM ledger_entries WHERE subject_id = :d "
            "AND entry_type LIKE 'review%' ORDER BY seq"), {"d": dec})] == [
            ("review_opened", '{"reason":"outside_window_review"}'),
            ("review_decided", '{"attempt_ids":["' + attempt_id(engine, "o-3") + '"],'
             '"decided_by":"Ada","note":"loyal","status":"approved"}'),
            ("review_reopened", '{"reason":"attempt_failed: card_declined","status":"open"}')]
    assert verify_ledger(engine) == []


def test_a_reopened_review_put_back_to_approved_is_found(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = reopen_after_approval(shop)
    tamper(engine, "UPDATE reviews SET status = 'approved', decided_by = 'Ada', note = 'loyal' "
           "WHERE decision_id = :d", d=dec)
    problem = verify_ledger(engine)[0]
    assert problem.where.startswith("reviews row")
    assert "status is 'approved' but the journal says 'open'" in problem.detail
