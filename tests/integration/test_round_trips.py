"""Fewer round trips per event on PostgreSQL, the same rows and the same locks: the inbox row's
statement takes its order's lock, and a new order's (or a return's) index rows for several
tables are one statement there, a plain INSERT per table on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError

from refunds_plugin.ledger.db import lock_order, make_engine, write_tx
from refunds_plugin.ledger.inserts import insert_rows
from refunds_plugin.ledger.journal import record_event
from refunds_plugin.ledger.tables import customer_orders, events, insight_marks, order_lines
from tests.conftest import _truncate


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
