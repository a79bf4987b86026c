"""Refunds as the provider reports them (``provider_refunds``): one row per provider refund id,
its latest status and amount, and the attempt it belongs to (Stripe and Saleor events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func

from refunds_plugin.ledger.db import dialect_insert
from refunds_plugin.ledger.tables import provider_refunds

# Stripe's refund moves pending (or requires_action) -> succeeded -> failed, or ends failed or
# canceled; never back. Its events come in any order, so a word from an earlier state (a late
# refund.created) never undoes a later one
STRIPE_FINAL = ("failed", "canceled")
STRIPE_BEFORE_SUCCESS = ("pending", "requires_action")


def _status(provider: str, said: Any) -> Any:
    pr = provider_refunds.c
    if provider != "stripe":  # a failed Saleor grant may be requested again
        return said
    return case((pr.status.in_(STRIPE_FINAL), pr.status),
                (and_(pr.status == "succeeded", said.in_(STRIPE_BEFORE_SUCCESS)), pr.status),
                else_=said)


def upsert_provider_refund(
    conn: Connection,
    *,
    provider: str,
    refund_id: str,
    payment_reference: str | None,
    order_id: str | None,
    attempt_id: str | None,
    currency: str,
    amount: int,
    status: str,
    now: datetime,
) -> None:
    stmt = dialect_insert(conn, provider_refunds).values(
        provider=provider,
        refund_id=refund_id,
        payment_reference=payment_reference,
        order_id=order_id,
        attempt_id=attempt_id,
        currency=currency,
        amount=amount,
        status=status,
        updated_at=now,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["provider", "refund_id"],
            set_={
                "status": _status(provider, stmt.excluded.status),
                "amount": stmt.excluded.amount,
                # the attempt named now: a retry re-requesting a failed Saleor grant takes it
                # over from the attempt it replaces; an event naming none keeps the known one
                "attempt_id": func.coalesce(
                    stmt.excluded.attempt_id, provider_refunds.c.attempt_id
                ),
                "updated_at": now,
            },
        )
    )
