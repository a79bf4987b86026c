"""Reconciliation: page through the provider's refunds and list every difference with the ledger.

A refund Stripe holds that the ledger does not know, a refund the ledger says was sent that
Stripe does not hold, and any refund whose amount or status differs are all reported, each
naming the refund id and our attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from refunds_plugin.domain import AttemptStatus
from refunds_plugin.ledger.tables import provider_refunds, refund_attempts
from refunds_plugin.stripe.refunded_total import REFUND_STATUS

PAGE = 100
# our attempt status -> the Stripe refund statuses that agree with it: Stripe's map read
# backwards, and a canceled attempt agrees with a canceled refund
AGREES: dict[str, tuple[str, ...]] = {
    ours.value: tuple(theirs for theirs, meant in REFUND_STATUS.items() if meant == ours)
    for ours in dict.fromkeys(REFUND_STATUS.values())
} | {AttemptStatus.CANCELED.value: ("canceled",)}


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    amount: int
    currency: str
    status: str
    payment_reference: str | None
    created: int


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing_in_ledger | missing_at_provider | amount | status
    refund_id: str | None
    attempt_id: str | None
    ledger: str
    provider: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "refund_id": self.refund_id,
            "attempt_id": self.attempt_id,
            "ledger": self.ledger,
            "provider": self.provider,
        }


def stripe_refunds(client: Any, since: datetime, page_size: int = PAGE) -> Iterator[ProviderRefund]:
    """Every Stripe refund created at or after ``since``, page by page (``starting_after``)."""
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": page_size, "created": {"gte": int(since.timestamp())}}
        if after:
            params["starting_after"] = after
        page = client.v1.refunds.list(params=params)
        for item in page.data:
            yield ProviderRefund(
                id=item.id,
                amount=int(item.amount),
                currency=str(item.currency).upper(),
                status=str(item.status),
                payment_reference=getattr(item, "payment_intent", None)
                or getattr(item, "charge", None),
                created=int(item.created),
            )
            after = item.id
        if not page.has_more or not page.data:
            return


@dataclass(frozen=True)
class _Ours:
    attempt_id: str | None
    amount: int
    status: str


def _ledger_side(engine: Engine, provider: str, since: datetime) -> dict[str, _Ours]:
    ours: dict[str, _Ours] = {}
    ra = refund_attempts.c
    with engine.connect() as conn:
        for row in conn.execute(
            select(ra.id, ra.provider_reference, ra.amount, ra.sent_amount, ra.status).where(
                ra.provider == provider,
                ra.kind == "refund",
                ra.provider_reference.is_not(None),
                ra.created_at >= since,
            )
        ):
            amount = row.sent_amount if row.sent_amount is not None else row.amount
            ours[row.provider_reference] = _Ours(row.id, int(amount), row.status)
        pr = provider_refunds.c
        for ext in conn.execute(
            select(pr.refund_id, pr.attempt_id, pr.amount, pr.status).where(
                pr.provider == provider, pr.updated_at >= since
            )
        ):
            if ext.refund_id not in ours:  # a refund made outside us, learned from an event
                ours[ext.refund_id] = _Ours(ext.attempt_id, int(ext.amount), f"={ext.status}")
    return ours


def reconcile(
    engine: Engine, refunds: Iterator[ProviderRefund], since: datetime, provider: str = "stripe"
) -> list[Mismatch]:
    ours = _ledger_side(engine, provider, since)
    seen: set[str] = set()
    out: list[Mismatch] = []
    for theirs in refunds:
        seen.add(theirs.id)
        mine = ours.get(theirs.id)
        shown = f"{theirs.amount} {theirs.currency} {theirs.status}"
        if mine is None:
            out.append(Mismatch("missing_in_ledger", theirs.id, None, "-", shown))
            continue
        ledger = f"{mine.amount} {mine.status.lstrip('=')}"
        if mine.amount != theirs.amount:
            out.append(Mismatch("amount", theirs.id, mine.attempt_id, ledger, shown))
        if mine.status.startswith("="):
            agrees = mine.status[1:] == theirs.status
        else:
            agrees = theirs.status in AGREES.get(mine.status, ())
        if not agrees:
            out.append(Mismatch("status", theirs.id, mine.attempt_id, ledger, shown))
    for ref, mine in sorted(ours.items()):
        if ref not in seen:
            ledger = f"{mine.amount} {mine.status.lstrip('=')}"
            out.append(Mismatch("missing_at_provider", ref, mine.attempt_id, ledger, "-"))
    return out
