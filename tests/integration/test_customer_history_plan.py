"""A customer's history reads each table once on PostgreSQL, whatever the planner would prefer.

On a young database (no statistics yet) PostgreSQL planned ``payments.order_id IN (SELECT …
orders …)`` as a nested loop that scanned every order once per payment: 7.6 ms a request at
1,000 orders, growing with the square of the shop. ``ledger/any_of.py`` writes it as
``= ANY(ARRAY(…))``. Here the planner is pushed to nested loops (hash and merge joins off) and
every scan of ``orders`` and ``payments`` must still run at most once; the figures are the same
as SQLite's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from refunds_plugin.domain.facts import Customer
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.facts import _HISTORY, customer_history
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import metadata, orders, payments

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SHOPPERS = 120


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in [t.name for t in reversed(metadata.sorted_tables)]:
            conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(orders.insert(), [
            {"order_id": f"o{n}", "source": "storefront", "currency": "USD",
             "total_amount": 1000 + n, "shipping_amount": 0, "customer_id": f"c{n % 40}",
             "customer_email": f"c{n % 40}@example.com", "lines": "[]",
             "paid_at": datetime(2026, 1, 1 + n % 28, tzinfo=UTC), "updated_at": NOW}
            for n in range(SHOPPERS)])
        conn.execute(payments.insert(), [
            {"provider": "stripe", "reference": f"pi_{n}", "order_id": f"o{n}",
             "currency": "USD" if n % 5 else "EUR", "captured": 1000 + n,
             "refunded_reported": 0, "status": "failed" if n % 7 == 0 else "succeeded",
             "created_at": NOW, "updated_at": NOW}
            for n in range(SHOPPERS)])


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    _fill(pg_migrated)
    yield pg_migrated


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, int]]:
    if plan.get("Relation Name") in ("orders", "payments"):
        yield plan["Relation Name"], plan["Actual Loops"]
    for child in plan.get("Plans", ()):
        yield from _scans(child)


def test_each_table_is_read_once_even_when_the_planner_prefers_nested_loops(
    pg: Engine,
) -> None:
    params = {"cid": "c7", "email": "c7@example.com", "lower": "c7@example.com", "cur": "USD"}
    with pg.connect() as conn:
        conn.execute(text("SET enable_hashjoin = off"))
        conn.execute(text("SET enable_mergejoin = off"))
        for query in (_HISTORY[(True, True)],):
            compiled = query.compile(dialect=postgresql.psycopg.dialect())
            values = {k: b.value for k, b in compiled.binds.items() if k not in params}
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), {**params, **values})
            row = cur.fetchone()
            assert row is not None
            plan = row[0][0]["Plan"]
            cur.close()
            scans = list(_scans(plan))
            assert {name for name, _ in scans} >= {"orders"}
            assert all(loops <= 1 for _, loops in scans), (scans, json.dumps(plan))


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
