"""When an exchange's new items may ship, and who hears of it.

``ship_on_reached`` is the one door the return's progress comes through: the decision itself
for ``ship_on: approval``, and the carrier's first scan, the delivery and the inspection (the
physical-return issue's ``refund_on`` triggers) call it with their trigger. ``announce`` and
``tell_a_person`` are where the notification outbox (``exchange.approved``,
``exchange.ready_to_ship``, a message for staff) is hooked in; until it is, they journal-free log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from refunds_plugin.domain import Exchange
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger.exchanges import ExchangeRow

log = logging.getLogger("refunds.exchanges")
TRIGGERS = exchanges.SHIP_ORDER  # approval | first_scan | delivered | inspected


def ship_on_reached(conn: Connection, decision_id: str, trigger: str,
                    now: datetime | None = None) -> bool:
    """The return of ``decision_id`` got as far as ``trigger``: an exchange waiting for that
    (or an earlier step) is ready to ship, once; True for the call that made it ready. One
    still awaiting its payment remembers it and is ready once paid. Call it inside the
    transaction that records the trigger."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown ship_on trigger {trigger!r}: expected one of {TRIGGERS}")
    row = exchanges.get_exchange(conn, decision_id)
    if row is None:
        return False
    now = now or datetime.now(UTC)
    moved = exchanges.reach(conn, row, trigger, now)
    if moved and row.status == "waiting":
        announce(conn, row, "exchange.ready_to_ship", now)
        return True
    return False


def exchange_approved(conn: Connection, decision_id: str, now: datetime) -> None:
    """A new exchange was decided: ``exchange.approved``, and ``exchange.ready_to_ship`` at once
    for an instant one (ship_on approval, nothing to pay)."""
    row = exchanges.get_exchange(conn, decision_id)
    if row is None:
        return
    announce(conn, row, "exchange.approved", now)
    if row.status == "ready":
        announce(conn, row, "exchange.ready_to_ship", now)


def event_body(row: ExchangeRow, exchange: Exchange | None) -> dict[str, Any]:
    """What an outbound exchange event carries: the decision, the new lines, the difference."""
    return {
        "decision_id": row.decision_id, "order_id": row.order_id, "currency": row.currency,
        "status": row.status, "ship_on": row.ship_on,
        "difference": row.difference, "charge": row.charge_amount,
        "waived": row.waived_amount, "back": row.back_amount,
        "lines": [{"line_id": ln.line_id, "quantity": ln.quantity, "sku": ln.sku,
                   "name": ln.name, "unit_amount": ln.unit_amount,
                   "variant_id": ln.variant_id} for ln in exchange.lines] if exchange else [],
        "replacement_id": row.replacement_id,
    }


def announce(conn: Connection, row: ExchangeRow, kind: str, now: datetime) -> None:
    """``exchange.approved`` / ``exchange.ready_to_ship`` for the merchant's systems.

    Hook for the notification outbox (issue 15) at merge:
    ``outbox.enqueue(conn, cause=f"{kind}:{row.decision_id}", kind=kind, recipient="merchant",
    context=event_body(row, exchange))``. Until then the storefront reads the same from the
    answer's ``exchange`` block and the status page."""
    log.info("%s for decision %s", kind, row.decision_id,
             extra={"decision_id": row.decision_id, "order_id": row.order_id})


def tell_a_person(conn: Connection, row: ExchangeRow, why: str, now: datetime) -> None:
    """The replacement could not be made after its retries: staff must look. The row is
    ``failed`` with ``last_error`` (finance lists it); hook for the outbox's staff message."""
    log.error("exchange %s needs a person: %s", row.decision_id, why,
              extra={"decision_id": row.decision_id, "order_id": row.order_id})
