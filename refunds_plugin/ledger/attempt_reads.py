"""Reading refund attempts: by provider reference, a decision's attempts, the executor's
backlog, the unknown ones a provider event may settle, and which attempts replaced which.
The state changes are in ``attempts.py``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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


def outcome_unknown(status: str, last_error: str | None) -> bool:
    """Did the provider maybe move the money? ``unknown``, or a ``failed`` written before that
    status existed by giving up on a retryable error ("gave up after N tries")."""
    return status == AttemptStatus.UNKNOWN or (
        status == AttemptStatus.FAILED and (last_error or "").startswith("gave up after")
    )


def retry_origins(conn: Connection, attempt_ids: list[str]) -> dict[str, str]:
    """Each of ``attempt_ids`` created to replace another (its journal's ``retry_of``): its id
    and the replaced attempt's."""
    le = ledger_entries.c
    found = conn.execute(
        select(le.subject_id, le.body).where(
            le.entry_type == "attempt",
            le.subject_id.in_(attempt_ids),
            le.body.like('%"retry_of"%'),
        )
    ).all()
    return {str(subject): str(origin) for subject, body in found
            if (origin := json.loads(body).get("retry_of"))}


def silent_attempts(conn: Connection, attempts: Sequence[Any]) -> set[str]:
    """The attempts (rows with ``id``, ``decision_id``, ``status``) that no longer speak for
    their decision's money: a failed one that a later attempt replaced (``retry_of``), whose
    replacement says whether the money went back; and a replacement canceled because the
    attempt it replaced succeeded after all (``late_outcomes.succeeded_after_failure``): that
    success is the decision's money, paid once. Only a decision with several attempts, one of
    them failed or canceled, can have such an attempt: the journal is read for those alone."""
    several = Counter(a.decision_id for a in attempts)
    odd = {a.decision_id for a in attempts
           if a.status in (AttemptStatus.FAILED, AttemptStatus.CANCELED)}
    maybe = [a.id for a in attempts if a.decision_id in odd and several[a.decision_id] > 1]
    if not maybe:
        return set()
    status = {a.id: a.status for a in attempts}
    silent: set[str] = set()
    for retry, origin in retry_origins(conn, maybe).items():
        if status.get(origin) == AttemptStatus.FAILED:
            silent.add(origin)
        elif (status.get(retry) == AttemptStatus.CANCELED
              and status.get(origin) == AttemptStatus.SUCCEEDED):
            silent.add(retry)
    return silent
