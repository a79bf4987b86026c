"""The outbox as finance reads it: messages by status (queued, sending, sent, failed,
skipped), the counts per status, and the messages one decision caused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, or_, select

from refunds_plugin.errors import InputError
from refunds_plugin.finance.reports import Page
from refunds_plugin.ledger.db import iso_time
from refunds_plugin.ledger.tables import outbox, refund_attempts
from refunds_plugin.notify.kinds import KINDS
from refunds_plugin.notify.outbox import STATUSES

COLUMNS = ["id", "cause", "kind", "channel", "recipient", "status", "tries", "next_try_at",
           "last_error", "note", "created_at", "sent_at"]
FILTERS = ("status", "kind", "cause")
_TIMES = ("next_try_at", "created_at", "sent_at")


def _row(row: Any) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in COLUMNS}
    for name in _TIMES:
        out[name] = iso_time(out[name]) if out[name] is not None else None
    return out


def find_outbox(engine: Engine, filters: dict[str, str], page: int = 1,
                per_page: int = 50) -> Page:
    """Newest first; ``status`` and ``kind`` must be known values (else ``InputError``),
    ``cause`` matches a cause or its start (``decision:26ff…``, ``attempt:``)."""
    page, per_page = max(1, page), max(1, min(per_page, 200))
    query = select(outbox)
    status, kind, cause = (filters.get(k, "").strip() for k in FILTERS)
    if status:
        if status not in STATUSES:
            raise InputError(f"status: expected one of {', '.join(STATUSES)}, found {status!r}",
                             code="invalid_parameter")
        query = query.where(outbox.c.status == status)
    if kind:
        if kind not in KINDS:
            raise InputError(f"kind: no message kind {kind!r}", code="invalid_parameter")
        query = query.where(outbox.c.kind == kind)
    if cause:
        query = query.where(outbox.c.cause.startswith(cause, autoescape=True))
    query = query.order_by(outbox.c.seq.desc()).limit(per_page + 1) \
        .offset((page - 1) * per_page)
    with engine.connect() as conn:
        rows = [_row(r) for r in conn.execute(query)]
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)


def counts(engine: Engine) -> dict[str, int]:
    """How many messages are in each status (every status named, zero included)."""
    with engine.connect() as conn:
        found = {str(status): int(n) for status, n in conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status))}
    return {s: int(found.get(s, 0)) for s in STATUSES}


def messages_about(engine: Engine, decision_id: str) -> list[dict[str, Any]]:
    """What a decision caused: its own mails and events, its reviews' and its attempts'."""
    with engine.connect() as conn:
        attempt_ids = conn.execute(select(refund_attempts.c.id)
                                   .where(refund_attempts.c.decision_id == decision_id)).scalars()
        causes = [f"decision:{decision_id}", *(f"attempt:{a}" for a in attempt_ids)]
        rows = conn.execute(
            select(outbox).where(or_(
                outbox.c.cause.in_(causes),
                outbox.c.cause.startswith(f"review:{decision_id}:", autoescape=True)))
            .order_by(outbox.c.seq))
        return [_row(r) for r in rows]
