"""Refunds as the provider reports them (``provider_refunds``): one row per provider refund id,
its latest status and amount, and the attempt it belongs to (Stripe and Saleor events); and
which of our refunds the provider's reported refunded total counts (``mark_counted``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select, true, update

from refunds_plugin.ledger.db import dialect_insert
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.tables import provider_refunds, refund_attempts

COUNTED = "stripe_counts"  # journal entry type: our refunds a reported refunded total counts

# Stripe's refund moves pending (or requires_action) -> succeeded -> failed, or ends failed or
# canceled; never back. Its events come in any order, so a word from an earlier state (a late
# refund.created) never undoes a later one
STRIPE_FINAL = ("failed", "canceled")
STRIPE_BEFORE_SUCCESS = ("pending", "requires_action")
# a Stripe Refund that was a partial capture's released rest, no money back (``stripe.releases``)
RELEASED = "released"
NOT_REFUNDED = (*STRIPE_FINAL, RELEASED)  # rows no sum of money given back counts


def _status(provider: str, said: Any) -> Any:
    pr = provider_refunds.c
    if provider != "stripe":  # a failed Saleor grant may be requested again
        return said
    return case((pr.status.in_((*STRIPE_FINAL, RELEASED)), pr.status),
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


def mark_released(conn: Connection, provider: str, refund_id: str, now: datetime) -> None:
    """A provider refund that was no refund (a partial capture's released rest: ``stripe.releases``)
    is kept as ``RELEASED``, which no sum of money given back counts."""
    pr = provider_refunds.c
    conn.execute(update(provider_refunds)
                 .where(pr.provider == provider, pr.refund_id == refund_id)
                 .values(status=RELEASED, updated_at=now))


def mark_counted(
    conn: Connection, provider: str, reference: str, *, key: str | None,
    refund_ids: tuple[str, ...], attempt_ids: tuple[str, ...], event_id: str, now: datetime,
) -> tuple[str, ...]:
    """Mark our refunds on the payment that a report of its refunded total counts: the one
    whose request caused it (``key``: the request's idempotency key) and those it lists (by
    the provider's refund id or the attempt id in their metadata). A refund once counted stays
    counted by every later report until it fails, when it is no longer open: so the mark is
    never taken back. Returns the attempts newly marked, journalled as ``COUNTED``."""
    ra, pr = refund_attempts.c, provider_refunds.c
    named: list[ColumnElement[bool]] = [
        ra.id.in_(attempt_ids), ra.provider_reference.in_(refund_ids),
        ra.id.in_(select(pr.attempt_id).where(pr.provider == provider,
                                              pr.refund_id.in_(refund_ids)))]
    if key:
        named.append(ra.idempotency_key == key)
    found = tuple(sorted(conn.execute(select(ra.id).where(
        ra.provider == provider, ra.kind == "refund", ra.payment_reference == reference,
        ra.counted_by_provider.is_not(true()),
        or_(*named))).scalars()))
    if not found:
        return ()
    conn.execute(update(refund_attempts).where(ra.id.in_(found)).values(counted_by_provider=True))
    append_entry(conn, COUNTED, f"{provider}:{reference}",
                 {"attempts": list(found), "event_id": event_id}, now)
    return found
