"""Fewer round trips per event on PostgreSQL, the same rows and the same locks: the inbox row's
statement takes its order's lock, and a new order's (or a return's) index rows for several
tables are one statement there, a plain INSERT per table on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger import seal
from refunds_plugin.ledger.db import aware, lock_order, make_engine, write_tx
from refunds_plugin.ledger.inserts import holding, insert_rows, together
from refunds_plugin.ledger.journal import record_event
from refunds_plugin.ledger.tables import (
    customer_orders,
    events,
    follow_ups,
    insight_marks,
    ledger_entries,
    order_line_labels,
    order_lines,
    outbox,
    payments,
    refund_attempts,
    return_lines,
)
from refunds_plugin.notify.kinds import MERCHANT
from refunds_plugin.notify.outbox import enqueue, enqueue_all
from refunds_plugin.trouble.follow_ups import open_follow_up
from tests.conftest import _truncate
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_stripe_refunded_truth import T0, charge_refunded


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    _truncate(pg_migrated)
    yield pg_migrated


class Statements:
    def __init__(self, engine: Engine) -> None:
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._sent)
        self.engine = engine

    def _sent(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._sent)


def line(line_id: str, sku: str) -> dict[str, Any]:
    return {"order_id": "o-1", "line_id": line_id, "sku": sku, "product_id": None,
            "name": "Mug", "currency": "EUR", "quantity": 2, "amount": 2500, "at": 86_400}


def test_the_inbox_row_of_an_order_event_waits_for_the_orders_lock(
    pg: Engine, now: datetime
) -> None:
    holder = pg.connect()
    holder_tx = holder.begin()
    lock_order(holder, "o-1")  # another transaction deciding for o-1, still open
    try:
        with pytest.raises(DBAPIError, match="lock timeout"), pg.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
            record_event(conn, "storefront", "evt-1", "order.paid", "{}", now, "processed",
                         lock="o-1")
    finally:
        holder_tx.rollback()
        holder.close()
    with pg.connect() as conn:
        assert conn.execute(select(events.c.id)).all() == []  # nothing recorded


def test_the_inbox_rows_lock_is_the_orders_lock_for_the_rest_of_its_transaction(
    pg: Engine, now: datetime
) -> None:
    seen = Statements(pg)
    try:
        with write_tx(pg) as conn:
            row = record_event(conn, "storefront", "evt-1", "order.paid", "{}", now,
                               "processed", lock="o-1")
            lock_order(conn, "o-1")  # held already: no statement
            held = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()")).scalar_one()
    finally:
        seen.close()
    assert row == 1 and held == 1
    assert len(seen.sent) == 2 and seen.sent[0].startswith("WITH l AS MATERIALIZED")


def test_a_redelivered_event_taking_the_lock_is_recorded_once(pg: Engine, now: datetime) -> None:
    with write_tx(pg) as conn:
        first = record_event(conn, "storefront", "evt-1", "order.paid", "{}", now, "processed",
                             lock="o-1")
    with write_tx(pg) as conn:
        again = record_event(conn, "storefront", "evt-1", "order.paid", "{}", now, "processed",
                             lock="o-1")
    assert (first, again) == (1, None)


def test_rows_for_several_tables_are_one_statement_on_postgresql(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    seen = Statements(engine)
    try:
        with write_tx(engine) as conn:
            insert_rows(conn, (order_lines, [line("l1", "MUG-1"), line("l2", "MUG-2")]),
                        (customer_orders, [{"order_id": "o-1", "customer": None,
                                            "currency": "EUR", "total": 5000, "at": 86_400}]),
                        (insight_marks, [{"day": 1, "customer": None}]))
        written = [s for s in seen.sent if "INSERT" in s]
        assert len(written) == (1 if engine.dialect.name == "postgresql" else 3)
        with engine.connect() as conn:
            lines = conn.execute(select(order_lines.c.line_id, order_lines.c.sku,
                                        order_lines.c.product_id, order_lines.c.quantity,
                                        order_lines.c.amount).order_by(order_lines.c.line_id))
            assert [tuple(r) for r in lines] == [("l1", "MUG-1", None, 2, 2500),
                                                 ("l2", "MUG-2", None, 2, 2500)]
            assert conn.execute(select(customer_orders.c.order_id, customer_orders.c.total)
                                ).all() == [("o-1", 5000)]
            assert conn.execute(select(insight_marks.c.day, insight_marks.c.customer)
                                ).all() == [(1, None)]
    finally:
        seen.close()
        engine.dispose()


def test_a_value_too_long_for_its_column_is_refused_and_nothing_is_written(pg: Engine) -> None:
    with pytest.raises(DBAPIError, match="value too long"), write_tx(pg) as conn:
        insert_rows(conn, (order_lines, [line("l1", "M" * 300)]),
                    (insight_marks, [{"day": 1, "customer": None}]))
    with pg.connect() as conn:
        assert conn.execute(select(order_lines.c.line_id)).all() == []
        assert conn.execute(select(insight_marks.c.id)).all() == []


def test_a_new_decisions_rows_are_one_statement_with_its_own_on_postgresql(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """Its row, return lines, attempt, journal entries and messages: one statement on PostgreSQL
    (a plain INSERT per table on SQLite), and the same rows on both, in the order they were
    written (the decision's journal entry before its attempt's, the messages in cause order)."""
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    engine = harness.runtime.engine
    seen = Statements(engine)
    try:
        answer = harness.post_storefront(return_requested()).json
    finally:
        seen.close()
    if engine.dialect.name == "postgresql":  # the decision's row is in it too
        written = [s for s in seen.sent if "INSERT INTO decisions" in s]
        assert len(written) == 1
        assert all(f"INSERT INTO {t} " in written[0] for t in
                   ("return_lines", "refund_attempts", "ledger_entries", "outbox"))
    else:
        after = seen.sent[next(n for n, s in enumerate(seen.sent)
                               if s.startswith("INSERT INTO decisions")) + 1:]
        assert len([s for s in after if "INSERT INTO" in s]) >= 4
    decision_id, attempt_id = answer["decision_id"], answer["attempts"][0]["id"]
    with engine.connect() as conn:
        entries = conn.execute(select(ledger_entries.c.entry_type, ledger_entries.c.subject_id)
                               .where(ledger_entries.c.subject_id.in_([decision_id, attempt_id]))
                               .order_by(ledger_entries.c.seq)).all()
        assert [tuple(e) for e in entries] == [("decision", decision_id), ("attempt", attempt_id)]
        attempt = conn.execute(select(refund_attempts.c.amount, refund_attempts.c.bonus,
                                      refund_attempts.c.status, refund_attempts.c.tries)
                               .where(refund_attempts.c.id == attempt_id)).one()
        assert tuple(attempt) == (2500, 0, "pending", 0)  # one of two mugs at 25.00
        mails = conn.execute(select(outbox.c.kind, outbox.c.status)
                             .where(outbox.c.cause == f"decision:{decision_id}")
                             .order_by(outbox.c.seq)).all()
        assert [tuple(m) for m in mails] == [("request_received", "queued"),
                                             ("approved", "queued"),
                                             ("return.decided", "queued")]
        assert conn.execute(select(return_lines.c.line_id, return_lines.c.quantity)
                            .where(return_lines.c.decision_id == decision_id)).all() \
            == [("l1", 1)]
    seal.settle(engine)
    assert list(verify_ledger(engine)) == []


def test_held_rows_are_written_once_at_the_end_and_a_failure_writes_none(
    any_db_url: str, now: datetime
) -> None:
    engine = make_engine(any_db_url)
    try:
        with pytest.raises(RuntimeError), write_tx(engine) as conn, together(conn):
            insert_rows(conn, (insight_marks, [{"day": 1, "customer": None}]))
            raise RuntimeError("the decision failed after its rows were given")
        with write_tx(engine) as conn:
            assert not holding(conn)  # the pooled connection holds nothing of the failure
            with together(conn):
                insert_rows(conn, (insight_marks, [{"day": 2, "customer": None}]))
                if engine.dialect.name == "postgresql":
                    assert holding(conn)
                    assert conn.execute(select(insight_marks.c.day)).all() == []  # not yet
            insert_rows(conn, (insight_marks, [{"day": 3, "customer": None}]))
        with engine.connect() as conn:
            assert conn.execute(select(insight_marks.c.day).order_by(insight_marks.c.day)
                                ).scalars().all() == [2, 3]
    finally:
        engine.dispose()


def test_a_message_already_recorded_is_left_as_it_is_when_held(
    any_db_url: str, now: datetime
) -> None:
    engine = make_engine(any_db_url)
    try:
        for attempt in range(2):
            with write_tx(engine) as conn, together(conn):
                rows: list[dict[str, Any]] = []
                enqueue(conn, cause="decision:d-1", kind="return.decided", recipient=MERCHANT,
                        now=now, batch=rows, context={"n": attempt, "decision_id": "d-1",
                                                      "order_id": "o-1", "outcome": "approve"})
                enqueue_all(conn, rows)
        with engine.connect() as conn:
            stored = conn.execute(select(outbox.c.context)).scalars().all()
        assert len(stored) == 1 and '"n": 0' in stored[0]
    finally:
        engine.dispose()


def test_values_come_back_exactly_as_given_whatever_they_hold(any_db_url: str) -> None:
    """Quotes, backslashes, line breaks, non-Latin letters, a time to the microsecond with its
    offset, None and large amounts: read back as they were written, on both databases."""
    engine = make_engine(any_db_url)
    body = '{"note":"a \\"quoted\\" word, C:\\\\path\\nnext line","name":"Löwe ☕ 日本"}'
    at = datetime(2026, 12, 6, 14, 33, 50, 123456, tzinfo=UTC)
    labels = [{"order_id": "o-1", "line_id": "l1", "kind": "tag", "label": 'say "hi" \\ {x,y}',
               "currency": "EUR", "quantity": 1, "amount": 9_007_199_254_740_993, "at": 1}]
    try:
        with write_tx(engine) as conn:
            insert_rows(conn, (order_line_labels, labels),
                        (insight_marks, [{"day": None, "customer": "Zoë@example.com"}]))
            with together(conn):
                insert_rows(conn, (ledger_entries, [{"entry_type": "note", "subject_id": "s-1",
                                                     "body": body, "created_at": at}]))
        with engine.connect() as conn:
            got = conn.execute(select(ledger_entries.c.body, ledger_entries.c.created_at)).one()
            label = conn.execute(select(order_line_labels.c.label,
                                        order_line_labels.c.amount)).one()
            mark = conn.execute(select(insight_marks.c.day, insight_marks.c.customer)).one()
        assert got.body == body and aware(got.created_at) == at
        assert tuple(label) == ('say "hi" \\ {x,y}', 9_007_199_254_740_993)
        assert tuple(mark) == (None, "Zoë@example.com")
    finally:
        engine.dispose()


def test_an_order_paid_learns_its_payments_owner_from_the_write_not_a_read(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The payment's upsert says which order its row names now; the owner is not read again.
    A payment another order holds is still found (the upsert left its row: read then)."""
    engine = harness.runtime.engine
    seen = Statements(engine)
    try:
        first = harness.post_storefront(order_paid())
        other = harness.post_storefront(order_paid(order_id="o-2", event_id="evt-o-2"))
    finally:
        seen.close()
    owner_reads = [s for s in seen.sent if "SELECT coalesce((SELECT payments.order_id" in s]
    assert first.status_code == 200 and other.status_code == 200
    assert len(owner_reads) == 1  # the second order's, whose payment the first order holds
    assert "belongs to order" in other.json["note"]
    with engine.connect() as conn:
        assert conn.execute(select(payments.c.order_id)).scalars().all() == ["1001"]


def test_an_order_paids_steps_after_its_payment_are_one_statement_on_postgresql(
    harness: Harness, fake_stripe: FakeStripe, now: datetime
) -> None:
    """After the payment's upsert, three steps: the order's open payment follow-ups cleared,
    Stripe's refunded total that came before the order settled, and the trouble detectors'
    precheck. One statement on PostgreSQL, the same effects on both; a follow-up of another kind
    or order is left as it was (no parameter of that statement reaches its SET)."""
    engine = harness.runtime.engine
    assert harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10)).status_code == 200
    with engine.begin() as conn:
        for kind, order_id in (("failed_payment", "1001"), ("failed_payment", "1002"),
                               ("label_refused", "1001")):
            open_follow_up(conn, kind=kind, order_id=order_id, payment_reference="pi_f",
                           currency="USD", amount=1999, customer_email="bo@example.com",
                           detail=f"{kind} of {order_id}", now=now, subject="s")
    seen = Statements(engine)
    try:
        answer = harness.post_storefront(order_paid())
    finally:
        seen.close()
    assert answer.status_code == 200
    after = [" ".join(s.split()) for s in seen.sent[next(
        n for n, s in enumerate(seen.sent) if "INSERT INTO payments" in s) + 1:]]
    if engine.dialect.name == "postgresql":
        # the precheck, the follow-ups and the journal's word in one; then the settling
        # (Stripe's total came first), and nothing else before the commit
        assert after[0].startswith("WITH cleared AS (UPDATE follow_ups")
        assert "FROM ledger_entries" in after[0] and "FROM payments" in after[0]
        assert not any(s.startswith("UPDATE follow_ups") for s in after[1:])
        assert not any("count(*)" in s and "FROM payments" in s for s in after[1:])
    with engine.connect() as conn:
        rows = conn.execute(select(follow_ups.c.kind, follow_ups.c.order_id,
                                   follow_ups.c.subject, follow_ups.c.status)
                            .order_by(follow_ups.c.id)).all()
        assert [tuple(r) for r in rows] == [("failed_payment", "1001", "s", "cleared"),
                                            ("failed_payment", "1002", "s", "open"),
                                            ("label_refused", "1001", "s", "open")]
        assert conn.execute(select(payments.c.refunded_reported)).scalars().all() == [3000]
    seal.settle(engine)
    assert list(verify_ledger(engine)) == []
