"""The looks an ``order.paid`` makes for its payment search an index on both databases, so they
cost the same at a thousand payments as at a million.

``trouble.payment_owners.payment_owner`` (every ``order.paid`` with a payment) and
``ledger.orders.payment_row`` (a payment known by two names) match a payment by its reference
or by its Stripe charge. Without an index on the charge (migration 0022) each read every payment
recorded: under bench load on PostgreSQL, 1,492 full scans of ``payments`` reading 5.4 million
rows in 40 s. Here each look's plan is read from the database (sequential scans discouraged on
PostgreSQL) and must not read more of ``payments`` than the payment looked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Engine

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.orders import payment_row
from refunds_plugin.ledger.tables import payments
from refunds_plugin.trouble.payment_owners import payment_owner

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    made = make_engine(any_db_url)
    with made.begin() as conn:
        conn.execute(payments.insert(), [
            {"provider": "stripe", "reference": f"pi_{n}", "order_id": f"o{n}",
             "currency": "USD", "captured": 1000, "refunded_reported": 0,
             "status": "succeeded", "charge_id": f"ch_{n}", "created_at": NOW,
             "updated_at": NOW}
            for n in range(300)])
        # statistics, as autovacuum gathers them once a table has grown (here at once)
        conn.execute(text("ANALYZE payments" if made.dialect.name == "postgresql" else "ANALYZE"))
    yield made
    made.dispose()


def _statements(conn: Connection, look: Any) -> list[tuple[str, Any]]:
    """The SQL ``look(conn)`` sends, with its parameters, and what it returned."""
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            sent.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", seen)
    try:
        look(conn)
    finally:
        event.remove(conn, "before_cursor_execute", seen)
    return sent


def _scans_payments(conn: Connection, statement: str, parameters: Any) -> list[str]:
    """The plan's reads of ``payments`` that go through more than the payment looked for: a
    scan, or an index searched by the provider alone (every payment of Stripe's)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    if conn.dialect.name == "postgresql":
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        row = cur.fetchone()
        cur.execute("RESET enable_seqscan")
        assert row is not None
        return [f"{node['Node Type']} removing {node.get('Rows Removed by Filter', 0)}"
                for node in _nodes(row[0][0]["Plan"])
                if node.get("Relation Name") == "payments"
                and (node["Node Type"] == "Seq Scan" or node.get("Rows Removed by Filter", 0) > 1)]
    cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    lines = [str(r[-1]) for r in cur.fetchall()]
    return [line for line in lines if line.startswith("SCAN payments")
            or (line.startswith("SEARCH payments") and line.endswith("(provider=?)"))]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def test_who_holds_a_payment_is_an_index_search(engine: Engine) -> None:
    with engine.connect() as conn:
        sent = _statements(conn, lambda c: payment_owner(c, "stripe", "ch_7"))
        assert payment_owner(conn, "stripe", "ch_7") == "o7"  # by its charge
        assert payment_owner(conn, "stripe", "pi_8") == "o8"  # by its reference
        assert payment_owner(conn, "stripe", "pi_none") is None
        assert len(sent) == 1
        assert _scans_payments(conn, *sent[0]) == []


def test_a_payment_under_either_name_is_an_index_search(engine: Engine) -> None:
    with engine.connect() as conn:
        sent = _statements(conn, lambda c: payment_row(c, "stripe", "pi_new", "ch_9"))
        assert payment_row(conn, "stripe", "pi_new", "ch_9") == "pi_9"
        assert payment_row(conn, "stripe", "pi_3", None) == "pi_3"
        assert len(sent) == 1
        assert _scans_payments(conn, *sent[0]) == []
