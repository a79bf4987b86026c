"""The outbox as finance reads it: messages by status (queued, sending, sent, failed,
gone, skipped), the counts per status, the messages one decision caused, and whether the
merchant's endpoint answered 410 Gone (a ``gone`` message: no event is sent until that message
is sent again)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, or_, select

from refunds_plugin.errors import InputError
from refunds_plugin.finance.reports import Page
from refunds_plugin.ledger.db import iso_time
from refunds_plugin.ledger.tables import outbox, refund_attempts
from refunds_plugin.notify.kinds import KINDS
from refunds_plugin.notify.outbox import (
    QUEUED,
    RESENDABLE,
    STATUSES,
    endpoint_gone,
    resendable_note,
)

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


def gone(engine: Engine) -> dict[str, Any] | None:
    """The endpoint took no more events (410 Gone): the refused message's id, since when, and
    how many events wait for it to be sent again; None while events go out."""
    with engine.connect() as conn:
        found = endpoint_gone(conn)
        if found is None:
            return None
        waiting = conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.channel != "mail", outbox.c.status == QUEUED)).scalar()
    return {"id": found[0], "since": iso_time(found[1]), "waiting": int(waiting or 0)}


def resendable(engine: Engine, ids: list[str] | None) -> dict[str, tuple[str, str]]:
    """``ids`` (every failed or gone one when None) that are messages: id → (kind, why it
    cannot be sent again, "" when it can), in the order asked (oldest first for every failed
    one)."""
    query = select(outbox.c.id, outbox.c.kind, outbox.c.status, outbox.c.note)
    query = query.where(outbox.c.id.in_(ids)) if ids is not None else query.where(
        outbox.c.status.in_(RESENDABLE)).order_by(outbox.c.seq)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(query)}
    out: dict[str, tuple[str, str]] = {}
    for i in ids if ids is not None else list(rows):
        r = rows.get(i)
        if r is None:
            continue
        why = "" if r.status in RESENDABLE and resendable_note(r.note) else (
            f"{r.status}, not failed" if r.status not in RESENDABLE else
            "held: its cause cannot be read, a person repairs it")
        if ids is None and why:
            continue  # --all-failed: the held ones are left, as the page shows no Resend
        out[i] = (str(r.kind), why)
    return out
