"""The statements of an ``order.paid`` and a ``return.requested`` on PostgreSQL, one by one: a
new order's row with its index rows, the order with its payments, the customer's history, a new
decision's row with everything it writes beside it, each one round trip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from refunds_plugin.ledger import seal
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.inserts import AlreadyThere, first_then, insert_rows
from refunds_plugin.ledger.money_entries import order_rows
from refunds_plugin.ledger.tables import insight_marks, ledger_entries, order_lines, orders
from tests.conftest import _truncate
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_round_trips import Statements, line


class Mine(Statements):
    """The statements sent from this thread only (not the background sealer's)."""

    def __init__(self, engine: Engine) -> None:
        self.thread = threading.get_ident()
        super().__init__(engine)

    def _sent(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == self.thread:
            self.sent.append(statement)


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    _truncate(pg_migrated)
    yield pg_migrated


def order_row(now: datetime, total: int) -> dict[str, object]:
    return {"order_id": "o-1", "source": "storefront", "currency": "EUR", "total_amount": total,
            "shipping_amount": 0, "customer_id": None, "customer_email": "bo@example.com",
            "paid_at": now, "lines": "[]", "updated_at": now}


def test_a_new_orders_row_and_its_rows_are_one_statement_and_a_known_order_writes_none(
    pg: Engine, now: datetime
) -> None:
    seen = Statements(pg)
    try:
        with write_tx(pg) as conn, first_then(conn, orders, order_row(now, 5000)) as first:
            insert_rows(conn, (order_lines, [line("l1", "MUG-1")]),
                        (insight_marks, [{"day": 1, "customer": None}]))
        assert first.inserted
        assert len(seen.sent) == 1 and all(f"INSERT INTO {t} " in seen.sent[0]
                                           for t in ("orders", "order_lines", "insight_marks"))
        # the same order again, other content: its row is there, so nothing else is written
        with write_tx(pg) as conn, first_then(conn, orders, order_row(now, 9900)) as again:
            insert_rows(conn, (order_lines, [line("l2", "MUG-2")]),
                        (insight_marks, [{"day": 2, "customer": None}]))
        assert not again.inserted
    finally:
        seen.close()
    with pg.connect() as conn:
        assert conn.execute(select(orders.c.order_id, orders.c.total_amount,
                                   orders.c.paid_at)).all() == [("o-1", 5000, now)]
        assert conn.execute(select(order_lines.c.line_id)).scalars().all() == ["l1"]
        assert conn.execute(select(insight_marks.c.day)).scalars().all() == [1]


def test_an_order_paid_and_its_return_are_four_statements_each_on_postgresql(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The inbox row with the order's lock, the order with its rows, the payment, then the
    follow-ups, the earlier refunded total and the precheck; for the return: the inbox row, the
    order with its payments, the customer's history, the decision with its other rows."""
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    engine = harness.runtime.engine
    seen = Mine(engine)
    try:
        paid = harness.post_storefront(order_paid())
        sent_for_order = len(seen.sent)
        asked = harness.post_storefront(return_requested())
    finally:
        seen.close()
    assert (paid.status_code, asked.status_code) == (200, 201)
    assert asked.json["outcome"] == "approve" and asked.json["amount"] == 2500
    if engine.dialect.name != "postgresql":
        return  # SQLite: a statement is no round trip, and it sends them one by one
    assert sent_for_order == 4, seen.sent[:sent_for_order]
    assert len(seen.sent) - sent_for_order == 4, seen.sent[sent_for_order:]


def test_a_statement_inside_writes_what_was_given_first_and_a_row_there_stops_it(
    pg: Engine, now: datetime
) -> None:
    """Inside ``first_then``, a read sees the rows given before it (they are written, with the
    first row, just before it runs) and later rows are written as they come; when the first row
    was there already, the read does not run and nothing given is written."""
    seen = Mine(pg)
    try:
        with write_tx(pg) as conn, first_then(conn, orders, order_row(now, 5000)) as first:
            insert_rows(conn, (order_lines, [line("l1", "MUG-1")]))
            lines = conn.execute(select(order_lines.c.line_id)).scalars().all()
            insert_rows(conn, (insight_marks, [{"day": 1, "customer": None}]))
        assert first.inserted and lines == ["l1"]
        assert [s.split(" (")[0] for s in seen.sent] == [
            "WITH w0 AS", "SELECT order_lines.line_id \nFROM order_lines",
            "INSERT INTO insight_marks"]
        seen.sent.clear()
        with pytest.raises(AlreadyThere), write_tx(pg) as conn, \
                first_then(conn, orders, order_row(now, 9900)):
            insert_rows(conn, (order_lines, [line("l2", "MUG-2")]))
            conn.execute(select(order_lines.c.line_id)).all()
            pytest.fail("the read ran though the order was there")  # pragma: no cover
        assert len(seen.sent) == 1  # the order's row and l2: nothing written, nothing read
    finally:
        seen.close()
    with pg.connect() as conn:
        assert conn.execute(select(orders.c.total_amount)).scalars().all() == [5000]
        assert conn.execute(select(order_lines.c.line_id)).scalars().all() == ["l1"]
        assert conn.execute(select(insight_marks.c.day)).scalars().all() == [1]


def test_a_row_there_already_leaves_no_mark_of_entries_to_seal(pg: Engine, now: datetime) -> None:
    """An order's journal entry given behind a known order's row is not written: the
    transaction is not marked as having entries to seal (the sealer is not woken for nothing),
    and a mark made before the block stays."""
    with write_tx(pg) as conn, first_then(conn, orders, order_row(now, 5000)):
        pass
    with write_tx(pg) as conn:
        with first_then(conn, orders, order_row(now, 9900)) as again:
            insert_rows(conn, order_rows(conn, "o-1", "EUR", 9900, None, now))
        assert not again.inserted and conn.info.get(seal.PENDING) is None
        seal.pending(conn, 7)
        with first_then(conn, orders, order_row(now, 9900)):
            insert_rows(conn, order_rows(conn, "o-1", "EUR", 9900, None, now))
        assert conn.info[seal.PENDING] == (conn.get_transaction(), 7)
        conn.info.pop(seal.PENDING)  # nothing of this test's to seal
    with pg.connect() as conn:
        assert conn.execute(select(ledger_entries.c.seq)).all() == []
