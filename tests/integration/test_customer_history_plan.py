"""A customer's history reads only their own orders and payments on PostgreSQL, through the
indexes, whatever the planner would prefer.

On a young database (no statistics yet) PostgreSQL planned ``payments.order_id IN (SELECT …
orders …)`` as a nested loop that scanned every order once per payment: 7.6 ms a request at
1,000 orders, growing with the square of the shop. Written as ``= ANY(ARRAY(…))`` it read
every payment once per request instead, and the orders too once the table held a few thousand
(``bench_webhooks.py``: a third of the server's time per event). Now each of their orders'
payments are summed by a subquery on ``ix_payments_order_id``, and their orders are found by
each key on its own index. Here the planner is pushed to nested loops (hash and merge joins
off), and then left alone on a shop of 3,000 orders without statistics: no scan of ``orders``
or ``payments`` reads the whole table, ``orders`` is read once per key, ``payments`` once per
order of theirs; the figures are the same as SQLite's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.dialects import postgresql

from refunds_plugin.domain.facts import Customer
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.facts import _HISTORY, customer_history
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import metadata, orders, payments
from tests.conftest import fresh_pg_database

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SHOPPERS = 120


def _fill(engine: Engine, shoppers: int = SHOPPERS) -> None:
    """``shoppers`` orders, each with one payment, for ``shoppers / 3`` customers: c7 has
    three orders (o7, o7 + k, o7 + 2k)."""
    customers = shoppers // 3
    with engine.begin() as conn:
        for name in [t.name for t in reversed(metadata.sorted_tables)]:
            conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(orders.insert(), [
            {"order_id": f"o{n}", "source": "storefront", "currency": "USD",
             "total_amount": 1000 + n, "shipping_amount": 0, "customer_id": f"c{n % customers}",
             "customer_email": f"c{n % customers}@example.com", "lines": "[]",
             "paid_at": datetime(2026, 1, 1 + n % 28, tzinfo=UTC), "updated_at": NOW}
            for n in range(shoppers)])
        conn.execute(payments.insert(), [
            {"provider": "stripe", "reference": f"pi_{n}", "order_id": f"o{n}",
             "currency": "USD" if n % 5 else "EUR", "captured": 1000 + n,
             "refunded_reported": 0, "status": "failed" if n % 7 == 0 else "succeeded",
             "created_at": NOW, "updated_at": NOW}
            for n in range(shoppers)])


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    _fill(pg_migrated)
    yield pg_migrated


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") in ("orders", "payments"):
        yield plan
    for child in plan.get("Plans", ()):
        yield from _scans(child)


def _plan(conn: Connection) -> dict[str, Any]:
    params = {"cid": "c7", "email": "c7@example.com", "lower": "c7@example.com", "cur": "USD"}
    compiled = _HISTORY[(True, True)].compile(dialect=postgresql.psycopg.dialect())
    values = {k: b.value for k, b in compiled.binds.items() if k not in params}
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), {**params, **values})
        row = cur.fetchone()
    assert row is not None
    return row[0][0]["Plan"]  # type: ignore[no-any-return]


def _reads_only_theirs(plan: dict[str, Any], by_index: bool) -> None:
    """Each scan of ``orders`` runs once and of ``payments`` once per order of theirs; with
    ``by_index``, each reads through an index, only their rows (a table of a few pages may
    rightly be read whole, once)."""
    scans = list(_scans(plan))
    shown = [(s["Relation Name"], s["Node Type"], s["Actual Loops"], s["Actual Rows"])
             for s in scans]
    # their orders: once by id, once by each spelling of the email, three rows each time
    assert [(name, loops, rows) for name, _, loops, rows in shown
            if name == "orders"] == [("orders", 1, 3)] * 3, shown
    # their payments: once per order of theirs (paid, live), one payment each time
    assert [(name, loops, rows) for name, _, loops, rows in shown
            if name == "payments"] == [("payments", 3, 1), ("payments", 3, 1)], shown
    if by_index:
        assert all(kind != "Seq Scan" and s.get("Rows Removed by Filter", 0) == 0
                   for s, (_, kind, _, _) in zip(scans, shown, strict=True)), json.dumps(plan)


def test_each_table_is_read_by_index_even_when_the_planner_prefers_nested_loops(
    pg: Engine,
) -> None:
    with pg.connect() as conn:
        conn.execute(text("SET enable_hashjoin = off"))
        conn.execute(text("SET enable_mergejoin = off"))
        _reads_only_theirs(_plan(conn), by_index=False)


def test_a_shop_of_thousands_without_statistics_reads_only_the_customers_rows(
    pg_server_url: str,
) -> None:
    # a database of its own: the session's may have been analysed by the server's autovacuum
    with fresh_pg_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            _fill(engine, 3000)
            with engine.connect() as conn:
                assert conn.execute(text(
                    "SELECT count(*) FROM pg_stats WHERE tablename IN ('orders', 'payments')")
                ).scalar_one() == 0  # no statistics
                _reads_only_theirs(_plan(conn), by_index=True)
        finally:
            engine.dispose()


def test_the_figures_are_the_same_on_postgresql_and_sqlite(pg: Engine, sqlite_url: str) -> None:
    lite = make_engine(sqlite_url)
    migrate(lite)
    _fill(lite)
    try:
        who = Customer("c7", "c7@example.com")
        with pg.connect() as a, lite.connect() as b:
            got = customer_history(a, who, NOW, 90, "USD")
            assert got == customer_history(b, who, NOW, 90, "USD")
        # c7's orders are o7, o47, o87: o7 failed (7 % 7 == 0), all three in USD
        assert (got.order_count, got.total_paid) == (3, 1047 + 1087)
        assert got.first_order_at == datetime(2026, 1, 4, tzinfo=UTC)  # o87: 1 + 87 % 28
    finally:
        lite.dispose()
