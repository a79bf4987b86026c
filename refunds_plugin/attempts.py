"""Refund attempt state changes, each journalled in the hash chain.

pending ──claim──► in_progress ──► succeeded
   ▲                   │      └──► sent ──(provider event)──► succeeded | failed
   └──── retry at T ───┤
                       └──► failed (final error or out of tries) ──► review
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, select, update

from refunds_plugin.db import lock_ledger
from refunds_plugin.ledger import append_entry, open_review
from refunds_plugin.tables import refund_attempts

TERMINAL = ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class AttemptRow:
    id: str
    decision_id: str
    order_id: str
    provider: str
    kind: str
    currency: str
    amount: int
    bonus: int
    payment_reference: str | None
    customer_id: str | None
    customer_email: str | None
    reason: str
    idempotency_key: str
    status: str
    tries: int
    provider_reference: str | None
    credit_code: str | None
    progress: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> AttemptRow:
        return cls(
            id=row.id,
            decision_id=row.decision_id,
            order_id=row.order_id,
            provider=row.provider,
            kind=row.kind,
            currency=row.currency,
            amount=int(row.amount),
            bonus=int(row.bonus or 0),
            payment_reference=row.payment_reference,
            customer_id=row.customer_id,
            customer_email=row.customer_email,
            reason=row.reason,
            idempotency_key=row.idempotency_key,
            status=row.status,
            tries=int(row.tries),
            provider_reference=row.provider_reference,
            credit_code=row.credit_code,
            progress=json.loads(row.progress) if row.progress else {},
        )


    @classmethod
    def written(cls, values: dict[str, Any]) -> AttemptRow:
        """The row as ``ledger.write_attempts`` inserted it, without reading it back."""
        return cls.from_row(
            SimpleNamespace(
                **{"provider_reference": None, "credit_code": None, "progress": None, **values}
            )
        )


def get_attempt(conn: Connection, attempt_id: str) -> AttemptRow | None:
    row = conn.execute(select(refund_attempts).where(refund_attempts.c.id == attempt_id)).first()
    return AttemptRow.from_row(row) if row else None


def find_by_provider_reference(conn: Connection, provider: str, ref: str) -> AttemptRow | None:
    row = conn.execute(
        select(refund_attempts).where(
            refund_attempts.c.provider == provider, refund_attempts.c.provider_reference == ref
        )
    ).first()
    return AttemptRow.from_row(row) if row else None


def transition(
    conn: Connection,
    attempt_id: str,
    status: str,
    now: datetime,
    *,
    expect: tuple[str, ...] | None = None,
    claimed_by: str | None = None,
    provider_reference: str | None = None,
    sent_amount: int | None = None,
    credit_code: str | None = None,
    error: str | None = None,
    next_try_at: datetime | None = None,
    note: str | None = None,
) -> bool:
    """Move an attempt to ``status`` if it is in one of ``expect`` (and, if given, still held
    by ``claimed_by``); journal the change. Returns False when the guard did not hold."""
    lock_ledger(conn)  # always ledger lock before row locks: one lock order, no deadlock
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if provider_reference is not None:
        values["provider_reference"] = provider_reference
    if sent_amount is not None:
        values["sent_amount"] = sent_amount
    if credit_code is not None:
        values["credit_code"] = credit_code
    if error is not None:
        values["last_error"] = error[:2000]
    if next_try_at is not None:
        values["next_try_at"] = next_try_at
    if status in TERMINAL or status == "sent":
        values["claimed_by"] = None
        values["lease_until"] = None
    if status in TERMINAL:
        values["completed_at"] = now
    stmt = update(refund_attempts).where(refund_attempts.c.id == attempt_id)
    if expect is not None:
        stmt = stmt.where(refund_attempts.c.status.in_(expect))
    if claimed_by is not None:
        stmt = stmt.where(refund_attempts.c.claimed_by == claimed_by)
    if conn.execute(stmt.values(**values)).rowcount != 1:
        return False
    body = {k: v for k, v in values.items() if k not in ("updated_at", "claimed_by", "lease_until")}
    if note:
        body["note"] = note
    append_entry(conn, "attempt", attempt_id, body, now)
    if status == "failed":
        row = get_attempt(conn, attempt_id)
        assert row is not None
        open_review(conn, row.decision_id, f"attempt_failed: {error or note or ''}"[:500], now)
    return True


def save_progress(conn: Connection, attempt_id: str, progress: dict[str, Any]) -> None:
    conn.execute(
        update(refund_attempts)
        .where(refund_attempts.c.id == attempt_id)
        .values(progress=json.dumps(progress, sort_keys=True))
    )
