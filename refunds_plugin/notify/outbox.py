"""The outbox table's one writer: messages enqueued with their cause, claimed with leases,
their outcomes (sent, retry at T, failed, skipped), finance's resend, and ``withdraw``.

pending work ──► queued ──claim──► sending ──► sent
                   ▲                  │  └──► skipped (no address, kind off, channel unset)
                   ├── retry at T ────┤
                   │                  ├──► failed (a final refusal, or out of tries)
                   │                  └──► gone (the endpoint answered 410 Gone)
                   └──── resend (finance) ◄── failed, gone

A message whose cause's stored rows cannot be read (``HELD`` in its context) is recorded
``failed`` at once with why, and is never sent nor resent: a person repairs the row.

An endpoint that answers 410 Gone takes no more events: that message is ``gone``, and while
such a row exists no event is claimed (mail goes on); the events wait ``queued``, untried.
Sending that message again (``resend``) makes it ``queued``: that re-enables the endpoint.

A row is unique per (cause, kind, recipient), and its id is derived from those three: a cause
that happens again (a redelivered event, a second process) adds nothing, and every try of a
message carries the same id (the email's Message-ID, the event's ``webhook-id``).
Claims are leases like refund attempts' (``ledger/claims.py``): ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the one write lock on SQLite; a dead worker's claim is taken over once its lease
runs out.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from refunds_plugin.language import written_in
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.due import any_in, first_due
from refunds_plugin.ledger.inserts import insert_rows
from refunds_plugin.ledger.journal import insert_ignore
from refunds_plugin.ledger.tables import decisions, orders, outbox
from refunds_plugin.notify.kinds import kind as kind_of
from refunds_plugin.notify.links import ASKS_FEEDBACK, answered, feedback_until
from refunds_plugin.notify.stored import UNREADABLE, why
from refunds_plugin.notify.stored import said as stored_said

OUTBOX_NAMESPACE = uuid.UUID("4b1d0f7e-8d0a-4f5c-9a55-0c8e1f6f2b10")
QUEUED, SENDING, SENT, FAILED, SKIPPED = "queued", "sending", "sent", "failed", "skipped"
GONE = "gone"  # the event the endpoint answered 410 Gone to: while one is, no event is sent
STATUSES = (QUEUED, SENDING, SENT, FAILED, GONE, SKIPPED)
RESENDABLE = (FAILED, GONE)  # what ``resend`` queues again (a failed one unless ``HELD``)
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
HELD = "held"  # context key: why the message cannot be written (its cause's rows unreadable)
_HELD_NOTE = "held: its cause cannot be read; not sent, not resent"
_o = outbox.c
log = logging.getLogger("refunds.notify")


def message_id(cause: str, kind: str, recipient: str) -> str:
    """The row's id: the same for the same cause, kind and recipient, in any process."""
    return str(uuid.uuid5(OUTBOX_NAMESPACE, f"{cause}\n{kind}\n{recipient}"))


def valid_email(address: str | None) -> bool:
    return bool(address) and len(address or "") <= 320 and bool(_EMAIL.match(address or ""))


@dataclass(frozen=True)
class OutboxRow:
    id: str
    cause: str
    kind: str
    channel: str
    recipient: str
    locale: str | None
    context: dict[str, Any]
    status: str
    tries: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        return cls(row.id, row.cause, row.kind, row.channel, row.recipient, row.locale,
                   json.loads(row.context), row.status, int(row.tries), aware(row.created_at))


@dataclass(frozen=True)
class Known:
    """What the caller's transaction read already for a mail: the order's language
    (``orders.locale``), the decision's ``said`` as stored and the language the customer chose
    (``decisions.chosen_locale``), so they are not read again."""

    locale: str | None
    said: str | None
    chosen: str | None = None


def enqueue(
    conn: Connection,
    *,
    cause: str,
    kind: str,
    recipient: str | None,
    now: datetime,
    locale: str | None = None,
    context: dict[str, Any],
    skip_because: str | None = None,
    known: Known | None = None,
    batch: list[dict[str, Any]] | None = None,
) -> bool:
    """Record one message inside the caller's transaction (the state change that causes it);
    True if it is new. A mail to a missing or invalid address, or one the caller says must not
    go (``skip_because``), is recorded as ``skipped`` with that note, so finance sees why the
    customer heard nothing; nothing is sent for it. ``known``: see ``Known``. ``batch``: the
    row is added to it instead, for ``enqueue_all`` to write with others (True)."""
    row = _row(conn, cause, kind, recipient, now, locale, context, skip_because, known)
    if batch is not None:
        batch.append(row)
        return True
    return insert_ignore(conn, outbox, row)


def enqueue_all(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Record the messages ``enqueue`` put in a ``batch``, in one statement; one already
    recorded (the same cause, kind and recipient) is left as it is, as ``enqueue`` does."""
    insert_rows(conn, (outbox, rows), ignore=outbox)  # inside ``together``: held for it


def _row(conn: Connection, cause: str, kind: str, recipient: str | None, now: datetime,
         locale: str | None, context: dict[str, Any], skip_because: str | None,
         known: Known | None) -> dict[str, Any]:
    spec = kind_of(kind)
    held = context.get(HELD)
    missing = [k for k in spec.needs if k not in context]
    if missing and held is None:
        raise ValueError(f"a {kind} message needs {', '.join(missing)} in its context")
    address = (recipient or "").strip()
    if held is not None:  # recorded failed with why; ``resend`` leaves it (its _HELD_NOTE)
        return {"id": message_id(cause, kind, address), "cause": cause, "kind": kind,
                "channel": spec.channel, "recipient": address, "locale": locale,
                "context": json.dumps(context, sort_keys=True, default=str), "status": FAILED,
                "tries": 0, "next_try_at": now, "claimed_by": None, "lease_until": None,
                "last_error": str(held)[:2000], "note": _HELD_NOTE, "created_at": now,
                "updated_at": now, "sent_at": None}
    note = skip_because
    if spec.channel == "mail" and not valid_email(address):
        note = (f"no message: the customer's email {address!r} is not a valid address"
                if address else "no message: the order has no customer email")
    skipped = note is not None
    if spec.channel == "mail":
        locale, context = _in_their_language(conn, locale, context, known)
        if kind in ASKS_FEEDBACK and context.get("decision_id"):
            context = {**context, "feedback_until": asked_until(
                conn, str(context["decision_id"]), now if known is not None else None)}
    return {
        "id": message_id(cause, kind, address), "cause": cause, "kind": kind,
        "channel": spec.channel, "recipient": address, "locale": locale,
        "context": json.dumps(context, sort_keys=True, default=str),
        "status": SKIPPED if skipped else QUEUED, "tries": 0, "next_try_at": now,
        "claimed_by": None, "lease_until": None, "last_error": None, "note": note,
        "created_at": now, "updated_at": now, "sent_at": None,
    }


def _in_their_language(conn: Connection, locale: str | None, context: dict[str, Any],
                       known: Known | None) -> tuple[str | None, dict[str, Any]]:
    """A customer's mail is in the language the caller named (a withdrawal's receipt: its
    page's), else ``language.written_in``'s: the one the customer asked in (on the returns
    pages, or a storefront return's ``locale``: ``decisions.chosen_locale``), else the order's
    (``orders.locale``). It carries its decision's explanation as message ids and parameters
    (``decisions.said``), so the renderer can say it in that language. Recorded on the row, so
    a worker renders it alike."""
    decision_id = context.get("decision_id")
    chosen: str | None = None
    order_locale: str | None = None
    stored: str | None = None
    if known is not None:
        chosen, order_locale, stored = known.chosen, known.locale, known.said
    elif decision_id and (row := conn.execute(_DECIDED_IN, {"id": str(decision_id)}).first()):
        chosen, order_locale, stored = row  # one read: the order's row through its decision's
    elif locale is None and context.get("order_id"):
        order_locale = conn.execute(select(orders.c.locale)
            .where(orders.c.order_id == str(context["order_id"]))).scalar()
    if locale is None:
        locale = written_in(chosen, order_locale)
    said = read_said(str(decision_id), stored) \
        if decision_id and "explanation" in context and stored else None
    if said is not None:
        context = {**context, "explanation_said": said}
    return locale, context


_DECIDED_IN = (
    select(decisions.c.chosen_locale, orders.c.locale, decisions.c.said)
    .select_from(decisions.outerjoin(orders, orders.c.order_id == decisions.c.order_id))
    .where(decisions.c.id == bindparam("id"))
)


def read_said(decision_id: str, stored: str) -> Any:
    """``decisions.said`` read back, or None when it cannot be (not JSON, or not the shape
    ``language.said`` writes): the mail then carries the stored English explanation, and a
    warning names the decision (never the stored words)."""
    try:
        return stored_said(stored)
    except UNREADABLE as exc:
        log.warning("decision %s's stored explanation ids (decisions.said) cannot be read (%s): "
                    "its mails carry the stored English explanation until a person repairs "
                    "the row", decision_id, why(exc), extra={"decision_id": decision_id})
        return None


def asked_until(conn: Connection, decision_id: str, given: datetime | None = None) -> str | None:
    """Until when the mail's feedback link takes answers (ISO, UTC), for the renderer to leave
    the link out of a mail rendered later; ``given``: the answer is being given now (a new
    decision's mails), not read."""
    if given is None:
        given = answered(conn, decision_id)[1]
    until = feedback_until(given)
    return None if until is None else until.astimezone(UTC).isoformat()


def recorded_causes(conn: Connection, kind: str, causes: list[str]) -> set[str]:
    """Which of ``causes`` already have a ``kind`` message (a sweep skips them unwritten)."""
    if not causes:
        return set()
    return set(conn.execute(select(_o.cause).where(_o.kind == kind, _o.cause.in_(causes)))
               .scalars())


_WAITING = and_(_o.status == QUEUED, _o.next_try_at <= bindparam("now"))
_LAPSED = and_(_o.status == SENDING, _o.lease_until < bindparam("now"))
_ORDER = (_o.next_try_at, _o.seq)
# the claim: each half read along the index (``ledger/due.py``)
_DUE = first_due(_o.id, _ORDER, (_LAPSED, _WAITING), locked=False)
_DUE_LOCKED = first_due(_o.id, _ORDER, (_LAPSED, _WAITING), locked=True)
# the look before a claim, as ``ledger.claims``: two plain index scans that stop at their first
# row and, on PostgreSQL, mark as dead the entries sent or skipped messages left behind (each
# whatever the statistics say: ``ledger/due.py``)
_ANY_DUE = select(or_(any_in(_o.next_try_at, _WAITING), any_in(_o.next_try_at, _LAPSED)))
_HELD = (_o.status == SENDING, _o.claimed_by == bindparam("worker"))
# while the endpoint is gone: mail only
_MAIL = _o.channel == "mail"
_DUE_MAIL = first_due(_o.id, _ORDER, (_LAPSED, _WAITING), locked=False, where=(_MAIL,))
_DUE_MAIL_LOCKED = first_due(_o.id, _ORDER, (_LAPSED, _WAITING), locked=True, where=(_MAIL,))
_ANY_DUE_MAIL = select(or_(any_in(_o.next_try_at, and_(_WAITING, _MAIL)),
                           any_in(_o.next_try_at, and_(_LAPSED, _MAIL))))


def any_due(conn: Connection, now: datetime, mail_only: bool = False) -> bool:
    return bool(conn.execute(_ANY_DUE_MAIL if mail_only else _ANY_DUE, {"now": now}).scalar())


def endpoint_gone(conn: Connection) -> tuple[str, datetime] | None:
    """The event the endpoint answered 410 Gone to (its id, when), while no event is sent."""
    row = conn.execute(select(_o.id, _o.updated_at).where(_o.status == GONE)
                       .order_by(_o.updated_at).limit(1)).first()
    return None if row is None else (str(row.id), aware(row.updated_at))


def claim_due(
    conn: Connection, worker: str, now: datetime, lease_until: datetime, limit: int,
    mail_only: bool = False,
) -> list[OutboxRow]:
    """Claim up to ``limit`` due messages for ``worker`` until ``lease_until`` (one more try
    each): queued ones whose time has come, and sending ones whose lease ran out (``mail_only``:
    the endpoint is gone). A message
    whose stored context is not JSON (edited by hand, truncated) is recorded ``failed`` with
    why, here, and not returned: it fails alone, and the rest of the batch goes."""
    pg = conn.dialect.name == "postgresql"
    due = (_DUE_MAIL_LOCKED if pg else _DUE_MAIL) if mail_only else _DUE_LOCKED if pg else _DUE
    ids = list(conn.execute(due, {"now": now, "limit": limit}).scalars())
    if not ids:
        return []
    conn.execute(update(outbox).where(_o.id.in_(ids)).values(
        status=SENDING, claimed_by=worker, lease_until=lease_until, tries=_o.tries + 1,
        updated_at=now))
    rows = conn.execute(select(outbox).where(_o.id.in_(ids)).order_by(_o.next_try_at, _o.seq))
    claimed: list[OutboxRow] = []
    for row in rows.all():
        try:
            claimed.append(OutboxRow.from_row(row))
        except ValueError as exc:
            finish(conn, row.id, worker, now, FAILED, error=(
                f"not sent: its stored context is not valid JSON ({exc}); "
                "a person must repair it, then resend"))
    return claimed


def renew_lease(conn: Connection, row_id: str, worker: str, lease_until: datetime) -> bool:
    """Extend ``worker``'s lease just before it sends; False when another worker took it."""
    return bool(conn.execute(
        update(outbox).where(_o.id == row_id, *_HELD).values(lease_until=lease_until),
        {"worker": worker}).rowcount == 1)


def finish(
    conn: Connection, row_id: str, worker: str, now: datetime, status: str, *,
    error: str | None = None, note: str | None = None, next_try_at: datetime | None = None,
) -> bool:
    """Record what became of a claimed message (``sent``, ``failed``, ``gone``, ``skipped``,
    or ``queued`` again at ``next_try_at``); False when the claim was lost to another worker."""
    values: dict[str, Any] = {"status": status, "updated_at": now, "claimed_by": None,
                              "lease_until": None}
    if status == SENT:
        values["sent_at"] = now
    if error is not None:
        values["last_error"] = error[:2000]
    if note is not None:
        values["note"] = note[:2000]
    if next_try_at is not None:
        values["next_try_at"] = next_try_at
    return bool(conn.execute(update(outbox).where(_o.id == row_id, *_HELD).values(values),
                             {"worker": worker}).rowcount == 1)


_SKIP = update(outbox).where(_o.id.in_(bindparam("ids", expanding=True)), *_HELD).values(
    status=SKIPPED, updated_at=bindparam("now"), claimed_by=None, lease_until=None,
    note=bindparam("note"))


def skip(conn: Connection, row_ids: list[str], worker: str, now: datetime, note: str) -> int:
    """``finish(…, SKIPPED, note=note)`` for several claimed messages in one statement; returns
    how many were still ``worker``'s."""
    return int(conn.execute(_SKIP, {"ids": row_ids, "worker": worker, "now": now,
                                    "note": note[:2000]}).rowcount)


def withdraw(conn: Connection, *, cause: str, kind: str, recipient: str | None,
             now: datetime, note: str) -> bool:
    """A message overtaken before it went (its cause's later step was told): ``skipped`` with
    ``note`` while still queued; one being sent, or done, is left as it is."""
    return bool(conn.execute(update(outbox).where(
        _o.id == message_id(cause, kind, (recipient or "").strip()), _o.status == QUEUED)
        .values(status=SKIPPED, note=note[:2000], updated_at=now)).rowcount == 1)


def skip_due(conn: Connection, now: datetime, note: str, limit: int, *, mail: bool,
             kinds: tuple[str, ...] = ()) -> int:
    """Record ``skipped`` with ``note``, in one statement and without claiming them, up to
    ``limit`` due messages no channel will take: every mail (``mail``; only ``kinds`` if
    given) or every event for the merchant (not ``mail``). The rows end as a claim followed by
    ``skip`` leaves them (one more try counted, no claim held). Returns how many."""
    which = [_o.channel == "mail" if mail else _o.channel != "mail"]
    if kinds:
        which.append(_o.kind.in_(kinds))
    # each half read along the index; on PostgreSQL locked and materialized, so run once: as a
    # subquery PostgreSQL may run it again for each row, and a run after the first skips the
    # rows this statement locked and takes others
    ids = first_due(_o.id, _ORDER, (_LAPSED, _WAITING), where=tuple(which),
                    locked=conn.dialect.name == "postgresql")
    return int(conn.execute(
        update(outbox).where(_o.id.in_(ids), or_(_WAITING, _LAPSED))
        .values(status=SKIPPED, updated_at=now, claimed_by=None, lease_until=None,
                tries=_o.tries + 1, note=note[:2000]),
        {"now": now, "limit": limit}).rowcount)


def release(conn: Connection, worker: str) -> int:
    """Hand back the claims ``worker`` holds (shutdown): queued again, the try not counted."""
    return int(conn.execute(
        update(outbox).where(*_HELD).values(status=QUEUED, claimed_by=None, lease_until=None,
                                            tries=_o.tries - 1),
        {"worker": worker}).rowcount)


def unclaim(conn: Connection, row_id: str, worker: str) -> bool:
    """Hand one claimed message back untried (its endpoint is gone): queued, the try not
    counted, due as it was."""
    return bool(conn.execute(
        update(outbox).where(_o.id == row_id, *_HELD).values(
            status=QUEUED, claimed_by=None, lease_until=None, tries=_o.tries - 1),
        {"worker": worker}).rowcount == 1)


def resendable_note(note: str | None) -> bool:
    """Whether a failed message with this note may be sent again (not a ``HELD`` one)."""
    return note != _HELD_NOTE


def resend(conn: Connection, row_id: str, by: str, now: datetime) -> bool:
    """Finance asks for a failed message again: queued at once with fresh tries, under the same
    id (a failed message never arrived, so its Message-ID or webhook-id is still unused); the
    ``gone`` event, the one an endpoint answered 410 to, re-enables that endpoint so. A
    held one (``HELD``) is not: its context was never written, a person repairs its cause."""
    return bool(conn.execute(
        update(outbox).where(_o.id == row_id, _o.status.in_(RESENDABLE),
                             or_(_o.note.is_(None), _o.note != _HELD_NOTE)).values(
            status=QUEUED, tries=0, next_try_at=now, updated_at=now,
            note=f"resend asked by {by}"[:2000])).rowcount == 1)


def resend_message(engine: Engine, row_id: str, by: str, now: datetime) -> bool:
    """``resend`` in a transaction of its own (the finance page and API)."""
    with write_tx(engine) as conn:
        return resend(conn, row_id, by, now)
