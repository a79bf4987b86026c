"""Migration 0009 fills the insight rows for history recorded before it, exactly as the app
writes them from then on: downgrading to 0005 and upgrading again gives back the same rows."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import select

from refunds_plugin.ledger.migrate import alembic_config, migrate
from refunds_plugin.ledger.tables import (
    customer_orders,
    order_line_labels,
    order_lines,
    return_figures,
    return_lines,
)
from tests.fakes import Harness
from tests.fakes.insights_history import History

TABLES = (order_lines, order_line_labels, customer_orders, return_lines, return_figures)


def rows(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    with h.runtime.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in TABLES}


def test_the_backfill_writes_what_the_app_wrote(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    written = rows(h)
    assert len(written["order_lines"]) == 12 and len(written["return_figures"]) == 4
    with h.runtime.engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
    migrate(h.runtime.engine)
    assert rows(h) == written
