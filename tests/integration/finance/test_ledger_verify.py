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


def test_deleting_the_newest_entry_is_found_by_the_seal_record_and_the_row_it_described(
    shop: Shop,
) -> None:
    engine = shop.runtime.engine
    last = one(engine, "SELECT max(seq) FROM ledger_entries")
    digest = str(one(engine, "SELECT hash FROM ledger_entries WHERE seq = :s", s=last))
    subject = one(engine, "SELECT subject_id FROM ledger_entries WHERE seq = :s", s=last)
    tamper(engine, "DELETE FROM ledger_entries WHERE seq = :s", s=last)
    problems = verify_ledger(engine)
    assert [(p.where, p.problem) for p in problems] == [
        (f"seal record {last}:{digest[:12]}…", "seal_mismatch"),
        (f"refund_attempts row {subject}", "row_edited")]
    assert problems[0].detail == (
        f"the sealer recorded entry {last} sealed with hash {digest}, but there is no such "
        "entry: the newest entries were deleted")
    assert "status is 'succeeded' but the journal says 'pending'" in problems[1].detail


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


def entry_seq(engine: Engine, subject: str, entry_type: str, last: bool = True) -> int:
    order = "DESC" if last else "ASC"
    return int(str(one(engine, f"SELECT seq FROM ledger_entries WHERE subject_id = :s AND "
                               f"entry_type = :t ORDER BY seq {order} LIMIT 1",
                       s=subject, t=entry_type)))


def test_a_refunded_orders_history_moved_to_another_order_is_named_row_by_row(
    shop: Shop, any_db_url: str
) -> None:
    # o-2 was refunded in full; with its history under o-3 it would look refundable again
    engine = shop.runtime.engine
    dec, att = decision_id(engine, "o-2"), attempt_id(engine, "o-2")
    tamper(engine, "UPDATE decisions SET order_id = 'o-3' WHERE order_id = 'o-2'",
           "UPDATE refund_attempts SET order_id = 'o-3' WHERE order_id = 'o-2'",
           "UPDATE return_lines SET order_id = 'o-3' WHERE order_id = 'o-2'")
    decided = entry_seq(engine, dec, "decision")
    paid = entry_seq(engine, att, "attempt")
    problems = verify_ledger(engine)
    assert [(p.where, p.problem, p.detail) for p in problems] == [
        (f"decisions row {dec} (order o-3)", "row_edited",
         f"differs from entry {decided}: order_id is 'o-3' but the journal says 'o-2'"),
        (f"refund_attempts row {att}", "row_edited",
         f"differs from its latest entry {paid}: order_id is 'o-3' but the journal says 'o-2'"),
        (f"return_lines row {dec}/l1", "row_edited",
         f"order_id is 'o-3' but its decision's entry {decided} says 'o-2'")]
    code, out = verify_cli(any_db_url)
    assert code == 1
    assert out.startswith(f"LEDGER ALTERED: first problem at decisions row {dec} (order o-3): "
                          f"row_edited: differs from entry {decided}: order_id is 'o-3' but "
                          "the journal says 'o-2'\n")


def test_an_attempt_whose_entries_name_no_order_is_held_to_its_decisions_order(
    shop: Shop,
) -> None:
    # as an attempt journalled before its entries named the order: only the decision's does
    engine = shop.runtime.engine
    dec, att = decision_id(engine, "o-2"), attempt_id(engine, "o-2")
    first = entry_seq(engine, att, "attempt", last=False)
    with engine.connect() as conn:
        body = json.loads(conn.execute(text("SELECT body FROM ledger_entries WHERE seq = :s"),
                                       {"s": first}).scalar_one())
    old_shape = {k: v for k, v in body.items()
                 if k not in ("order_id", "customer_id", "customer_email")}
    rehash_from(engine, first, json.dumps(old_shape, sort_keys=True, separators=(",", ":")))
    tamper(engine, "UPDATE refund_attempts SET order_id = 'o-3' WHERE id = :a", a=att)
    decided = entry_seq(engine, dec, "decision")
    assert [(p.where, p.detail) for p in verify_ledger(engine)] == [
        (f"refund_attempts row {att}",
         f"differs from its latest entry {entry_seq(engine, att, 'attempt')}: order_id is "
         f"'o-3' but its decision's entry {decided} says 'o-2'")]


def rehash_from(engine: Engine, seq: int, body: str) -> None:
    """Put ``body`` in entry ``seq`` and recompute every hash from it on, and the seal record:
    a ledger whose entries are all consistent, as if written that way."""
    from refunds_plugin.ledger import chain

    with engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, entry_type, subject_id, body, prev_hash FROM "
                                 "ledger_entries WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
        prev = rows[0].prev_hash
        for row in rows:
            text_ = body if row.seq == seq else row.body
            digest = chain.entry_hash(prev, row.entry_type, row.subject_id, text_)
            conn.execute(text("UPDATE ledger_entries SET body = :b, prev_hash = :p, hash = :h "
                              "WHERE seq = :s"), {"b": text_, "p": prev, "h": digest, "s": row.seq})
            conn.execute(text("UPDATE ledger_seal SET hash = :h WHERE seq = :s"),
                         {"h": digest, "s": row.seq})
            prev = digest


def test_edited_customers_of_a_decision_and_an_attempt_are_named(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec, att = decision_id(engine, "o-1"), attempt_id(engine, "o-1")
    tamper(engine, "UPDATE decisions SET customer_email = 'eve@example.com' WHERE id = :d",
           "UPDATE refund_attempts SET customer_id = 'cus_eve', "
           "customer_email = 'eve@example.com' WHERE id = :a", d=dec, a=att)
    assert [(p.where, p.detail) for p in verify_ledger(engine)] == [
        (f"decisions row {dec} (order o-1)",
         f"differs from entry {entry_seq(engine, dec, 'decision')}: customer_email is "
         "'eve@example.com' but the journal says 'ann@example.com'"),
        (f"refund_attempts row {att}",
         f"differs from its latest entry {entry_seq(engine, att, 'attempt')}: customer_id is "
         "'cus_eve' but the journal says 'cus_ann'; customer_email is 'eve@example.com' but "
         "the journal says 'ann@example.com'")]


def test_an_edited_decision_time_and_an_edited_entry_time_are_named(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec, att = decision_id(engine, "o-1"), attempt_id(engine, "o-2")
    decided = entry_seq(engine, dec, "decision")
    first = entry_seq(engine, att, "attempt", last=False)
    tamper(engine, "UPDATE decisions SET created_at = :t WHERE id = :d",
           "UPDATE ledger_entries SET created_at = :t WHERE seq = :s",
           t=datetime(2026, 1, 2, 3, 4, 5), d=dec, s=first)
    assert [(p.where, p.problem, p.detail) for p in verify_ledger(engine)] == [
        (f"decisions row {dec} (order o-1)", "row_edited",
         f"differs from entry {decided}: created_at is 2026-01-02T03:04:05+00:00 but the "
         "journal says 2026-11-24T12:00:00+00:00"),
        (f"refund_attempts row {att}", "row_edited",
         f"differs from its latest entry {entry_seq(engine, att, 'attempt')}: created_at is "
         "2026-11-24T12:00:00+00:00 but its first entry says 2026-01-02T03:04:05+00:00")]


def test_an_edited_time_of_a_decision_entry_is_named_by_its_seq(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-1")
    decided = entry_seq(engine, dec, "decision")
    tamper(engine, "UPDATE ledger_entries SET created_at = :t WHERE seq = :s",
           "UPDATE decisions SET created_at = :t WHERE id = :d",
           t=datetime(2026, 1, 2, 3, 4, 5), s=decided, d=dec)
    problems = verify_ledger(engine)
    assert [(p.where, p.problem, p.detail) for p in problems][0] == (
        f"entry {decided}", "edited",
        f"entry {decided} (decision {dec}) has created_at 2026-01-02T03:04:05+00:00 but its "
        "body says 2026-11-24T12:00:00+00:00")


def test_entries_unsealed_and_rewritten_with_their_rows_are_named(
    shop: Shop, any_db_url: str
) -> None:
    engine = shop.runtime.engine
    last = int(str(one(engine, "SELECT max(seq) FROM ledger_entries")))
    att = str(one(engine, "SELECT subject_id FROM ledger_entries WHERE seq = :s", s=last))
    tamper(engine, "UPDATE ledger_entries SET hash = NULL, prev_hash = NULL "
                   "WHERE seq IN (:a, :b)",
           "UPDATE ledger_entries SET body = replace(body, '\"status\":\"succeeded\"', "
           "'\"status\":\"failed\"') WHERE seq = :b",
           "UPDATE refund_attempts SET status = 'failed' WHERE id = :att",
           a=last - 1, b=last, att=att)
    detail = (f"entry {last - 1} has no hash, but the sealer recorded the chain sealed through "
              f"entry {last}: its seal was erased (2 entries un-sealed)")
    problems = verify_ledger(engine)
    assert [(p.where, p.problem, p.detail) for p in problems] == [
        (f"entry {last - 1}", "seal_erased", detail)]
    code, out = verify_cli(any_db_url)
    assert (code, out) == (1, f"LEDGER ALTERED: first problem at entry {last - 1}: seal_erased: "
                              f"{detail}\n")  # not "not sealed yet": they were sealed


@pytest.mark.parametrize(("seq", "body"), [(7, "not json{"), (1, "[1,2]")])
def test_an_entry_body_that_is_not_json_is_named_as_edited(
    shop: Shop, any_db_url: str, seq: int, body: str
) -> None:
    engine = shop.runtime.engine
    kind, subject = (one(engine, f"SELECT {c} FROM ledger_entries WHERE seq = :s", s=seq)
                     for c in ("entry_type", "subject_id"))
    tamper(engine, "UPDATE ledger_entries SET body = :b WHERE seq = :s", b=body, s=seq)
    detail = (f"entry {seq} ({kind} {subject}) does not match its hash: its content was edited "
              "after it was written")
    assert verify_cli(any_db_url) == (
        1, f"LEDGER ALTERED: first problem at entry {seq}: edited: {detail}\n")
    as_json = CliRunner().invoke(main, ["ledger", "verify", "--json"],
                                 env={"REFUNDS_DATABASE_URL": any_db_url})
    assert (as_json.exit_code, [json.loads(line) for line in as_json.output.splitlines()]) == (
        1, [{"where": f"entry {seq}", "problem": "edited", "detail": detail}])

    rehash_from(engine, seq, body)  # and rehashed, with the seal record: still named
    assert verify_cli(any_db_url) == (
        1, f"LEDGER ALTERED: first problem at entry {seq}: edited: entry {seq} ({kind} "
           f"{subject}) has a body that is not a JSON object: its content was edited after it "
           "was written\n")


def test_an_edited_review_time_is_named(shop: Shop) -> None:
    engine = shop.runtime.engine
    dec = decision_id(engine, "o-3")
    review = one(engine, "SELECT id FROM reviews WHERE decision_id = :d", d=dec)
    tamper(engine, "UPDATE reviews SET opened_at = :t WHERE decision_id = :d",
           t=datetime(2026, 1, 2, 3, 4, 5), d=dec)
    assert [(p.where, p.problem, p.detail) for p in verify_ledger(engine)] == [
        (f"reviews row {review} (decision {dec})", "row_edited",
         f"differs from its latest entry {entry_seq(engine, dec, 'review_opened')}: opened_at "
         "is 2026-01-02T03:04:05+00:00 but its entry says 2026-11-24T12:00:00+00:00")]
