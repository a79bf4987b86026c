"""Reading refund attempts: by provider reference, a decision's attempts, the executor's
backlog, the unknown ones a provider event may settle, and which attempts replaced which.
The state changes are in ``attempts.py``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, func, select

from refunds_plugin.domain.kinds import WAITING, AttemptStatus
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts


def decision_attempts(conn: Connection, decision_id: str) -> tuple[AttemptRow, ...]:
    """A decision's attempts in the order they were written."""
    rows = conn.execute(select(refund_attempts)
                        .where(refund_attempts.c.decision_id == decision_id)
                        .order_by(refund_attempts.c.seq)).all()
    return tuple(AttemptRow.from_row(r) for r in rows)


def find_by_provider_reference(conn: Connection, provider: str, ref: str) -> AttemptRow | None:
    # the newest: a retry that re-requests a Saleor grant shares its reference
    row = conn.execute(
        select(refund_attempts).where(
            refund_attempts.c.provider == provider, refund_attempts.c.provider_reference == ref
        ).order_by(refund_attempts.c.created_at.desc(), refund_attempts.c.seq.desc())
    ).first()
    return AttemptRow.from_row(row) if row else None


def backlog(engine: Engine) -> tuple[int, datetime | None]:
    """The executor's backlog for ``/healthz``: how many attempts are pending or in progress,
    and when the oldest of them was created (None when there are none)."""
    with engine.connect() as conn:
        count, oldest = conn.execute(
            select(func.count(), func.min(refund_attempts.c.created_at)).where(
                refund_attempts.c.status.in_(WAITING)
            )
        ).one()
    return int(count), aware(oldest)


_UNKNOWN_UNREFERENCED = (
    select(refund_attempts)
    .where(
        refund_attempts.c.provider == bindparam("provider"),
        refund_attempts.c.payment_reference == bindparam("payment"),
        refund_attempts.c.amount == bindparam("amount"),
        refund_attempts.c.status == AttemptStatus.UNKNOWN,
        refund_attempts.c.provider_reference.is_(None),
    )
    .order_by(refund_attempts.c.created_at, refund_attempts.c.id)
)


def unknown_unreferenced(
    conn: Connection, provider: str, payment_reference: str, amount: int
) -> list[AttemptRow]:
    """Attempts of ``amount`` on a payment that gave up without a provider reference: what
    they asked may have been done, and only a later provider event can say which it was."""
    params = {"provider": provider, "payment": payment_reference, "amount": amount}
    return [AttemptRow.from_row(r) for r in conn.execute(_UNKNOWN_UNREFERENCED, params)]


def replaced_attempts(conn: Connection, attempt_ids: list[str]) -> set[str]:
    """The attempts that ``attempt_ids`` were created to replace (their journal's ``retry_of``)."""
    le = ledger_entries.c
    bodies = conn.execute(
        select(le.body).where(
            le.entry_type == "attempt",
            le.subject_id.in_(attempt_ids),
            le.body.like('%"retry_of"%'),
        )
    ).scalars()
    return {str(found) for body in bodies if (found := json.loads(body).get("retry_of"))}


def outcome_unknown(status: str, last_error: str | None) -> bool:
    """Did the provider maybe move the money? ``unknown``, or a ``failed`` written before that
    status existed by giving up on a retryable error ("gave up after N tries")."""
    return status == AttemptStatus.UNKNOWN or (
        status == AttemptStatus.FAILED and (last_error or "").startswith("gave up after")
    )
