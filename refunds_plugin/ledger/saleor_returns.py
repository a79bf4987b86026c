"""Returns Saleor is told of without a refund attempt: one row per decision, moved by guarded
UPDATEs, its opening and its end journalled.

A paid Saleor order's return is recorded in Saleor by the decision's first refund or credit
attempt (``providers/saleor/provider.record_return``). A free order's has no attempt (nothing to
refund; ``policies/eligibility.payment``: ``free_order``), nor has one whose refund comes to 0,
so its decision's transaction opens a row here instead, and the executor's loop records it
through the same function (``execution/saleor_returns.py``). So does an exchange's fallback
whose exchange made no replacement (one that fell back unpaid): nothing returned those lines.
Its states::

    pending ──claim (a lease; tries + 1)──► recorded (Saleor's RETURNED fulfillment)
       ▲                 │
       └── retry at T ───┤
                         └──► failed (a final error, or out of tries: a person looks)
                                 │
                                 └──► recorded_by_hand (a person recorded it in Saleor's
                                      dashboard and said so: ``intake.saleor_returns``)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.ledger.facts import FALLBACK_KEY
from refunds_plugin.ledger.journal import append_entry, insert_ignore
from refunds_plugin.ledger.tables import exchanges, saleor_returns

ENTRY = "saleor_return"  # the journal's entry type, its subject the decision
_sr = saleor_returns.c


@dataclass(frozen=True)
class SaleorReturnRow:
    decision_id: str
    order_id: str
    lines: dict[str, int]  # order line id → units
    status: str
    progress: dict[str, Any]
    tries: int  # this try's included, once claimed


def open_for(conn: Connection, decision_id: str, decision: Decision, facts: OrderFacts,
             request_key: str, written: Iterable[Mapping[str, Any]], now: datetime) -> bool:
    """A return of a Saleor order, approved by the policy or a person (the callers' call),
    whose items come back with no attempt on Saleor to record it: its row, once (the decision is
    the key), with its journal entry. Not for an exchange's fallback (``FALLBACK_KEY``) whose
    exchange made its replacement: its return (``replace: true``) brought those lines back, and
    Saleor refuses them a second time (INVALID_QUANTITY)."""
    if (facts.source != "saleor" or decision.kind is not DecisionKind.RETURN
            or any(row["provider"] == "saleor" for row in written)
            or _returned_by_exchange(conn, request_key)):
        return False
    lines = decision.units_back()
    if not lines:
        return False
    inserted = insert_ignore(conn, saleor_returns, {
        "decision_id": decision_id, "order_id": facts.order_id,
        "lines": json.dumps(lines, sort_keys=True), "status": "pending", "progress": "{}",
        "tries": 0, "next_try_at": now, "created_at": now, "updated_at": now})
    if inserted:
        append_entry(conn, ENTRY, decision_id,
                     {"status": "pending", "order_id": facts.order_id, "lines": lines}, now)
    return inserted


def _returned_by_exchange(conn: Connection, request_key: str) -> bool:
    """A fallback's exchange made its replacement (as ``execution/instructions`` reads it)."""
    if not request_key.startswith(FALLBACK_KEY):
        return False
    made = conn.execute(select(exchanges.c.replacement_id).where(
        exchanges.c.decision_id == request_key[len(FALLBACK_KEY):])).scalar()
    return made is not None


def _row(conn: Connection, decision_id: str) -> SaleorReturnRow | None:
    row = conn.execute(select(saleor_returns).where(_sr.decision_id == decision_id)).first()
    if row is None:
        return None
    return SaleorReturnRow(row.decision_id, row.order_id, json.loads(row.lines), row.status,
                           json.loads(row.progress or "{}"), int(row.tries))


def _free(now: datetime) -> Any:
    return or_(_sr.claim_until.is_(None), _sr.claim_until <= now)


def due(conn: Connection, now: datetime, limit: int = 50) -> list[str]:
    """The decisions whose return is due: pending, its wait over, no live lease on it (a
    worker that died holding one lets it go when the lease runs out)."""
    return list(conn.execute(
        select(_sr.decision_id)
        .where(_sr.status == "pending", _sr.next_try_at <= now, _free(now))
        .order_by(_sr.next_try_at, _sr.decision_id).limit(limit)).scalars())


def claim(conn: Connection, decision_id: str, now: datetime,
          lease: timedelta) -> SaleorReturnRow | None:
    """One worker's lease on a due return, this try counted; None: not due, or another holds it."""
    taken = conn.execute(
        update(saleor_returns)
        .where(_sr.decision_id == decision_id, _sr.status == "pending", _sr.next_try_at <= now,
               _free(now))
        .values(claim_until=now + lease, tries=_sr.tries + 1)).rowcount
    return _row(conn, decision_id) if taken == 1 else None


def save_progress(conn: Connection, decision_id: str, progress: dict[str, Any],
                  now: datetime) -> None:
    """What the steps have done so far, saved before the next (the Saleor call among them)."""
    conn.execute(update(saleor_returns).where(_sr.decision_id == decision_id).values(
        progress=json.dumps(progress, sort_keys=True), updated_at=now))


def recorded(conn: Connection, decision_id: str, fulfillment_id: str | None,
             now: datetime) -> bool:
    """Saleor has the return: ``recorded``, once."""
    moved = conn.execute(
        update(saleor_returns).where(_sr.decision_id == decision_id, _sr.status == "pending")
        .values(status="recorded", fulfillment_id=fulfillment_id, claim_until=None,
                last_error=None, updated_at=now)).rowcount
    if moved:
        append_entry(conn, ENTRY, decision_id,
                     {"status": "recorded", "fulfillment_id": fulfillment_id}, now)
    return bool(moved)


def retry(conn: Connection, decision_id: str, error: str, at: datetime, now: datetime) -> None:
    """A try failed and may succeed later: pending again from ``at``, its lease let go."""
    conn.execute(
        update(saleor_returns).where(_sr.decision_id == decision_id, _sr.status == "pending")
        .values(next_try_at=at, claim_until=None, last_error=error[:2000], updated_at=now))


def failed(conn: Connection, decision_id: str, error: str, now: datetime) -> bool:
    """No try will do: ``failed`` with why, once, for a person."""
    moved = conn.execute(
        update(saleor_returns).where(_sr.decision_id == decision_id, _sr.status == "pending")
        .values(status="failed", claim_until=None, last_error=error[:2000],
                updated_at=now)).rowcount
    if moved:
        append_entry(conn, ENTRY, decision_id, {"status": "failed", "error": error}, now)
    return bool(moved)


def recorded_by_hand(conn: Connection, decision_id: str, by: str, now: datetime) -> bool:
    """A person recorded the failed return in Saleor's dashboard: ``recorded_by_hand``, once,
    with who; its error stays as it was (what Saleor said when we tried)."""
    moved = conn.execute(
        update(saleor_returns).where(_sr.decision_id == decision_id, _sr.status == "failed")
        .values(status="recorded_by_hand", updated_at=now)).rowcount
    if moved:
        append_entry(conn, ENTRY, decision_id, {"status": "recorded_by_hand", "by": by}, now)
    return bool(moved)


def status_of(conn: Connection, decision_id: str) -> tuple[str, str] | None:
    """(order id, status) of a decision's row; None without one."""
    row = conn.execute(select(_sr.order_id, _sr.status)
                       .where(_sr.decision_id == decision_id)).first()
    return None if row is None else (row.order_id, row.status)
