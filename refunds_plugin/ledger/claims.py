"""Claims on refund attempts: which are due, the lease a worker takes on them, its renewal, and
handing them back. The executor runs these; ``attempts.transition`` writes what happened.

Claims are leases: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (any number of workers),
the single write lock on SQLite (one executor). A worker that dies keeps its claim only until
the lease runs out. Claims and releases are not journalled: the status they move between,
pending and in progress, is the same attempt waiting to be sent (``finance.verify.UNJOURNALLED``).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.due import any_in, first_due
from refunds_plugin.ledger.tables import refund_attempts

_ra = refund_attempts.c
# built once: the executor claims on every nudge, inside the write lock
_WAITING = and_(_ra.status == AttemptStatus.PENDING, _ra.next_try_at <= bindparam("now"))
_LAPSED = and_(_ra.status == AttemptStatus.IN_PROGRESS, _ra.lease_until < bindparam("now"))
# the claim: each half read along the index (``ledger/due.py``); the lapsed first, as the older
_DUE = first_due(_ra.id, (_ra.next_try_at,), (_LAPSED, _WAITING), locked=False)
_DUE_LOCKED = first_due(_ra.id, (_ra.next_try_at,), (_LAPSED, _WAITING), locked=True)
# the look before a claim: each half a plain index scan that stops at its first row. On
# PostgreSQL the claim's OR is a bitmap scan, which visits every index entry a finished attempt
# left behind until VACUUM; a plain index scan marks those dead as it passes, once. Each half
# reads along the index whatever the statistics say (``ledger/due.py``).
_ANY_DUE = select(or_(any_in(_ra.next_try_at, _WAITING), any_in(_ra.next_try_at, _LAPSED)))
_CLAIM = (
    update(refund_attempts)
    .where(_ra.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=AttemptStatus.IN_PROGRESS,
        claimed_by=bindparam("worker"),
        lease_until=bindparam("lease"),
        tries=_ra.tries + 1,
        updated_at=bindparam("now"),
    )
)
_CLAIMED = select(refund_attempts).where(_ra.id.in_(bindparam("ids", expanding=True)))
_HELD = (_ra.claimed_by == bindparam("worker"), _ra.status == AttemptStatus.IN_PROGRESS)


def any_due(conn: Connection, now: datetime) -> bool:
    """Is any attempt due (pending and its time come, or claimed and its lease run out)?"""
    return bool(conn.execute(_ANY_DUE, {"now": now}).scalar())


def claim_due(
    conn: Connection, worker: str, now: datetime, lease_until: datetime, limit: int,
    unreadable: dict[str, str] | None = None,
) -> list[AttemptRow]:
    """Claim up to ``limit`` due attempts for ``worker`` until ``lease_until`` (one more try
    each); returns them as claimed. ``unreadable``: an attempt whose stored progress is not
    JSON is returned with none and named here with why, so the caller fails it alone (without
    it, the whole claim raises)."""
    due = _DUE_LOCKED if conn.dialect.name == "postgresql" else _DUE
    ids = list(conn.execute(due, {"now": now, "limit": limit}).scalars())
    if not ids:
        return []
    conn.execute(_CLAIM, {"ids": ids, "worker": worker, "lease": lease_until, "now": now})
    claimed: list[AttemptRow] = []
    for row in conn.execute(_CLAIMED, {"ids": ids}):
        try:
            claimed.append(AttemptRow.from_row(row))
        except ValueError as exc:
            if unreadable is None:
                raise
            unreadable[row.id] = f"attempt {row.id}'s stored progress is not valid JSON ({exc})"
            claimed.append(AttemptRow.from_row(SimpleNamespace(**{**row._mapping,
                                                                  "progress": None})))
    return claimed


def renew_lease(conn: Connection, attempt_id: str, worker: str, lease_until: datetime) -> bool:
    """Extend ``worker``'s lease on an attempt; False when it no longer holds the claim."""
    renewed = conn.execute(
        update(refund_attempts).where(_ra.id == attempt_id, *_HELD).values(lease_until=lease_until),
        {"worker": worker},
    ).rowcount
    return bool(renewed == 1)


def release(conn: Connection, worker: str, ids: list[str] | None = None) -> int:
    """Hand back the claims ``worker`` holds (only ``ids``, when given) but has not started:
    pending again, and the try it never made is not counted. Returns how many."""
    stmt = update(refund_attempts).where(*_HELD)
    if ids is not None:
        stmt = stmt.where(_ra.id.in_(ids))
    stmt = stmt.values(
        status=AttemptStatus.PENDING, claimed_by=None, lease_until=None, tries=_ra.tries - 1
    )
    return int(conn.execute(stmt, {"worker": worker}).rowcount)


def let_go(conn: Connection, attempt_id: str) -> None:
    """Clear the claim of an attempt put back in the queue for a later try: nobody holds it
    until the next claim (``transition`` clears claims only of settled or unclaimed states)."""
    conn.execute(
        update(refund_attempts)
        .where(_ra.id == attempt_id)
        .values(claimed_by=None, lease_until=None)
    )


_AWAITING = (
    select(_ra.id, _ra.order_id, _ra.updated_at)
    .where(
        _ra.provider == bindparam("provider"),
        _ra.kind == "refund",
        _ra.status.in_((AttemptStatus.SENT, AttemptStatus.UNKNOWN)),
    )
    .order_by(_ra.updated_at, _ra.id)
)


def awaiting_outcome(conn: Connection, provider: str) -> list[tuple[str, str, datetime]]:
    """Refunds ``provider`` accepted (or may have) without saying how they ended: (attempt id,
    order id, when it last changed), for a poller that asks where no event will tell."""
    return [(r.id, r.order_id, aware(r.updated_at))
            for r in conn.execute(_AWAITING, {"provider": provider})]
