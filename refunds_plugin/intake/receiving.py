"""The warehouse receives a return: one transaction that records the receipt line by line and
releases (or sends to a person) the money waiting for it (``shipping.receiving``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, select

from refunds_plugin.config import Config
from refunds_plugin.domain import Decision
from refunds_plugin.errors import NotFound
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, orders
from refunds_plugin.shipping import receiving, returns
from refunds_plugin.shipping.receiving import Receipt, Received

# line id → (condition, units or None for all the return takes back, restock)
Lines = Mapping[str, tuple[str, int | None, bool]]


def receive(engine: Engine, config: Config, decision_id: str, lines: Lines, by: str,
            now: datetime) -> Receipt:
    """Record what arrived for the return of ``decision_id``; idempotent for the same lines."""
    with write_tx(engine) as conn:
        ret = returns.get_return(conn, decision_id)
        if ret is None:
            raise NotFound(f"no return is waiting for decision {decision_id}",
                           code="unknown_return")
        found = conn.execute(select(decisions.c.body, orders.c.source).join(
            orders, orders.c.order_id == decisions.c.order_id).where(
            decisions.c.id == decision_id)).one()
        decision = Decision.from_dict(json.loads(found.body))
        wanted = {ln.line_id: ln.quantity for ln in decision.lines}
        got = [Received(line_id, wanted.get(line_id, 0) if units is None else units, condition,
                        restock)
               for line_id, (condition, units, restock) in lines.items()]
        saleor = found.source == "saleor" and bool(config.saleor_restock_warehouse)
        return receiving.mark_received(conn, ret, decision, got, by, now, saleor)


def restock_lines_of(engine: Engine, decision_id: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return receiving.restock_lines(conn, decision_id)
