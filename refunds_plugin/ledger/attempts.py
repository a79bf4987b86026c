"""Refund attempt state changes, each journalled in the hash chain.

held ──(the parcel's trigger: ``release_held``)──► pending;  held ──(return expired)──► canceled
pending ──claim──► in_progress ──► succeeded ──(provider event: refund failed later)──► failed
   ▲                   │      └──► sent ──(provider event)──► succeeded | failed
   ├──── retry at T ───┤
   │                   ├──► failed (final error: nothing moved) ──► review
   │                   └──► unknown (out of tries on a retryable error: money may have moved,
   │                              the amount stays reserved) ──► review
   └── review approved: the same attempt, same idempotency key, requeued (unknown only);
       a failed one is replaced by a new attempt with a new key (``retry_attempt``)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import (
    NEEDS_REVIEW,
    SETTLES,
    TERMINAL,
    UNCLAIMED,
    AttemptStatus,
    ResolutionKind,
)
from refunds_plugin.ledger.exchange_dues import retry_seq
from refunds_plugin.ledger.inserts import insert_rows
from refunds_plugin.ledger.journal import Entry, append_entries, append_entry
from refunds_plugin.ledger.line_index import mark_decision
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import refund_attempts
from refunds_plugin.notify.causes import attempt_settled

ATTEMPT_NAMESPACE = uuid.UUID("8f0f8d52-52a4-4c1e-9d53-3b1f1f0c2a77")


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
    livemode: bool | None = None  # the provider's mode when it answered (False: Stripe's test)
    seq: int = 0  # its place in the decision (``exchange_dues.refund_of``: what it gives back)

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
            livemode=getattr(row, "livemode", None),
            seq=int(getattr(row, "seq", 0)),
        )

    @classmethod
    def written(cls, values: dict[str, Any]) -> AttemptRow:
        """The row as ``write_attempts`` inserted it, without reading it back."""
        return cls.from_row(
            SimpleNamespace(
                **{"provider_reference": None, "credit_code": None, "progress": None, **values}
            )
        )


def attempt_id_for(decision_id: str, seq: int) -> str:
    return str(uuid.uuid5(ATTEMPT_NAMESPACE, f"{decision_id}:{seq}"))


def idempotency_key_for(attempt_id: str) -> str:
    """The provider idempotency key: derived from the attempt id, the same on every try."""
    return f"refunds-plugin-attempt-{attempt_id}"


_INSERT_ATTEMPT = refund_attempts.insert()


def _insert_attempt(
    conn: Connection, values: dict[str, Any], now: datetime, journal: dict[str, Any] | None = None,
    status: AttemptStatus = AttemptStatus.PENDING,
) -> dict[str, Any]:
    """Insert a pending attempt (``values``: its decision, seq, order, provider, what it pays
    and to whom) and append its ``attempt`` entry; returns the row as written. The entry's
    body is hashed into the chain, so its keys stay exactly these, plus ``journal`` (a retry
    names the attempt it replaces, and why)."""
    row = _attempt_row(values, now, status)
    conn.execute(_INSERT_ATTEMPT, row)
    append_entry(conn, *_attempt_entry(row, journal), now)
    return row


def _attempt_row(values: dict[str, Any], now: datetime, status: AttemptStatus) -> dict[str, Any]:
    attempt_id = attempt_id_for(values["decision_id"], values["seq"])
    row = {
        "id": attempt_id,
        **values,
        "idempotency_key": idempotency_key_for(attempt_id),
        "status": status.value,
        "tries": 0,
        "next_try_at": now,
        "created_at": now,
        "updated_at": now,
    }
    return row


def _attempt_entry(row: dict[str, Any], journal: dict[str, Any] | None = None) -> Entry:
    return "attempt", row["id"], {k: row[k] for k in _JOURNALLED} | (journal or {})


_JOURNALLED = ("status", "decision_id", "kind", "amount", "bonus", "currency", "provider",
               "payment_reference", "idempotency_key", "order_id", "customer_id",
               "customer_email")  # the last three since verify holds them (older entries lack them)
# what a retry copies from the attempt it replaces
_COPIED = ("order_id", "provider", "kind", "currency", "amount", "bonus", "payment_reference",
           "customer_id", "customer_email", "reason")


def write_attempts(
    conn: Connection,
    decision_id: str,
    decision: Decision,
    facts: OrderFacts,
    route: dict[str, str],
    now: datetime,
    held: frozenset[ResolutionKind] = frozenset(),
    first: Entry | None = None,
) -> list[dict[str, Any]]:
    """Insert and journal the decision's refund attempts; returns the rows as written. Those
    of a kind in ``held`` wait for the parcel (``held``), reserved but never claimed.
    ``first``: a journal entry to append before theirs (the decision's), in the same statement;
    the attempts are inserted in one statement too."""
    written: list[dict[str, Any]] = []
    reason = {"duplicate_charge": "duplicate"}.get(decision.kind.value, "requested_by_customer")
    for seq, res in enumerate(decision.resolutions):
        if res.total <= 0:
            continue
        provider = (
            route.get(res.payment_reference or "", "")
            if res.kind is ResolutionKind.REFUND
            else route.get("credit", "")
        )
        values = {
            "decision_id": decision_id, "order_id": facts.order_id, "seq": seq,
            "provider": provider or "dryrun", "kind": res.kind.value,
            "currency": decision.currency, "amount": res.amount, "bonus": res.bonus,
            "payment_reference": res.payment_reference, "customer_id": facts.customer.id,
            "customer_email": facts.customer.email, "reason": reason,
        }
        status = AttemptStatus.HELD if res.kind in held else AttemptStatus.PENDING
        written.append(_attempt_row(values, now, status))
    insert_rows(conn, (refund_attempts, written))  # inside ``together``: with the entries
    entries = [] if first is None else [first]
    entries += [_attempt_entry(row) for row in written]
    if entries:
        append_entries(conn, entries, now)
    return written


def write_extra_attempt(
    conn: Connection, *, decision_id: str, order_id: str, seq: int, provider: str,
    currency: str, amount: int, payment_reference: str | None, now: datetime,
    journal: dict[str, Any] | None = None, like: AttemptRow | None = None,
) -> str:
    """One refund attempt of a decision outside its resolutions (an instant exchange's
    original-due payment given back), at a fixed ``seq``: written once, its id returned
    however often it is asked (the id is derived from the decision and the seq). ``like``: an
    attempt whose kind, customer and hold it takes (a label fee given back as its money went)."""
    attempt_id = attempt_id_for(decision_id, seq)
    if get_attempt(conn, attempt_id) is None:
        _insert_attempt(conn, {
            "decision_id": decision_id, "order_id": order_id, "seq": seq,
            "provider": provider, "kind": like.kind if like else "refund", "currency": currency,
            "amount": amount, "bonus": 0, "payment_reference": payment_reference,
            "customer_id": like and like.customer_id, "reason": "requested_by_customer",
            "customer_email": like and like.customer_email}, now, journal,
            AttemptStatus.HELD if like and like.status == AttemptStatus.HELD else
            AttemptStatus.PENDING)
    return attempt_id


def _held_of(conn: Connection, decision_id: str, kinds: tuple[str, ...] | None) -> list[str]:
    ra = refund_attempts.c
    query = select(ra.id).where(ra.decision_id == decision_id, ra.status == AttemptStatus.HELD)
    if kinds is not None:
        query = query.where(ra.kind.in_(kinds))
    return list(conn.execute(query.order_by(ra.seq)).scalars())


def release_held(conn: Connection, decision_id: str, now: datetime, note: str,
                 kinds: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The parcel's trigger came: the decision's held attempts (of ``kinds``, or all) go to the
    executor, due now; journalled with ``note``. Returns the attempts released."""
    return tuple(aid for aid in _held_of(conn, decision_id, kinds)
                 if transition(conn, aid, AttemptStatus.PENDING, now,
                               expect=(AttemptStatus.HELD,), next_try_at=now, note=note))


def cancel_held(conn: Connection, decision_id: str, now: datetime, note: str) -> tuple[str, ...]:
    """The return will not come (expired): its held attempts are canceled, journalled."""
    return tuple(aid for aid in _held_of(conn, decision_id, None)
                 if transition(conn, aid, AttemptStatus.CANCELED, now,
                               expect=(AttemptStatus.HELD,), error=note))


def get_attempt(conn: Connection, attempt_id: str) -> AttemptRow | None:
    row = conn.execute(select(refund_attempts).where(refund_attempts.c.id == attempt_id)).first()
    return AttemptRow.from_row(row) if row else None


_TRANSITIONS: dict[tuple[tuple[str, ...], bool, bool], Any] = {}


def _transition_stmt(columns: tuple[str, ...], expect: bool, claimed: bool) -> Any:
    """The guarded UPDATE for this shape of transition, built once (the executor runs one per
    attempt inside the write lock, and building it cost more than running it). It returns the
    row as updated, which the messages of a settled attempt say: no second read."""
    key = (columns, expect, claimed)
    stmt = _TRANSITIONS.get(key)
    if stmt is None:
        stmt = update(refund_attempts).where(refund_attempts.c.id == bindparam("p_id"))
        if expect:
            stmt = stmt.where(refund_attempts.c.status.in_(bindparam("p_expect", expanding=True)))
        if claimed:
            stmt = stmt.where(refund_attempts.c.claimed_by == bindparam("p_claimed"))
        stmt = stmt.values({c: bindparam(f"v_{c}") for c in columns})
        stmt = _TRANSITIONS[key] = stmt.returning(*refund_attempts.c)
    return stmt


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
    tries: int | None = None,
    note: str | None = None,
    journal: list[Entry] | None = None,
    livemode: bool | None = None,
) -> bool:
    """Move an attempt to ``status`` if it is in one of ``expect`` (and, if given, still held
    by ``claimed_by``); journal the change. Returns False when the guard did not hold.

    ``journal``: the entry is added to this list instead, for the caller to append with its
    transaction's others in one statement; one that opens a review appends the list first.
    ``livemode``: the provider's mode when it answered (False: Stripe's test mode), journalled."""
    # no lock of its own: the guarded UPDATE is atomic, and a change that frees money only
    # makes a concurrent check more careful; callers that add to what an order has paid out
    # (a review's retry, a provider's late success) hold the order's lock (``lock_order``)
    values: dict[str, Any] = {"status": status, "updated_at": now}
    given = {"provider_reference": provider_reference, "sent_amount": sent_amount,
             "credit_code": credit_code, "livemode": livemode}
    values.update({k: v for k, v in given.items() if v is not None})
    if error is not None:
        values["last_error"] = error[:2000]
    if next_try_at is not None:
        values["next_try_at"] = next_try_at
    if tries is not None:
        values["tries"] = tries
    if status in TERMINAL or status in UNCLAIMED:
        values["claimed_by"] = None
        values["lease_until"] = None
    if status in TERMINAL:
        values["completed_at"] = now
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(p_id=attempt_id, p_expect=list(expect or ()), p_claimed=claimed_by)
    stmt = _transition_stmt(tuple(values), expect is not None, claimed_by is not None)
    row = conn.execute(stmt, params).first()
    if row is None:
        return False
    body = {k: v for k, v in values.items() if k not in ("updated_at", "claimed_by", "lease_until")}
    if note:
        body["note"] = note
    if journal is None:
        append_entry(conn, "attempt", attempt_id, body, now)
    else:
        journal.append(("attempt", attempt_id, body))
    if status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED):
        attempt_settled(conn, row, status, now)  # the customer and the merchant hear
        if row.livemode is False:  # Stripe's test mode: the insights' money returned leaves it
            mark_decision(conn, row.decision_id)  # out (``rollups.in_test_mode``): refold
    if status in NEEDS_REVIEW:
        if journal:  # the review's entry comes after this attempt's, as it would unbatched
            append_entries(conn, journal, now)
            journal.clear()
        why = f"attempt_{status}: {error or note or ''}"[:500]
        open_review(conn, row.decision_id, why, now, row)  # row: a clamped one's words
    return True


def settle_from_provider(
    conn: Connection,
    attempt: AttemptRow,
    target: str,
    now: datetime,
    *,
    provider_reference: str,
    error: str | None,
    note: str,
    livemode: bool | None = None,
) -> bool:
    """A provider reports ``target`` for an attempt of ours: move it there unless it is
    already there or finished. Settles from any reserved status, so an attempt that gave up
    not knowing (``unknown``) is settled by the provider's word too, in the mode the provider
    says (``livemode``, when it says one). False: nothing changed."""
    if attempt.status in TERMINAL or attempt.status == target:
        return False
    return transition(
        conn,
        attempt.id,
        target,
        now,
        expect=SETTLES,
        provider_reference=provider_reference,
        error=error,
        note=note,
        livemode=livemode,
    )


def requeue(conn: Connection, attempt: AttemptRow, now: datetime, note: str) -> bool:
    """Send the same attempt (same idempotency key) to the provider again, from its first try:
    if the money did move, the provider replays what it did instead of paying twice."""
    moved = transition(conn, attempt.id, AttemptStatus.PENDING, now, expect=(attempt.status,),
                       next_try_at=now, tries=0, note=note)
    if moved:
        conn.execute(
            update(refund_attempts)
            .where(refund_attempts.c.id == attempt.id)
            .values(completed_at=None, claimed_by=None, lease_until=None,
                    # tells the provider to look for what an earlier try may have done
                    progress=json.dumps({**attempt.progress, "requeued": True}, sort_keys=True))
        )
    return moved


def retry_attempt(conn: Connection, failed: AttemptRow, now: datetime, note: str) -> str:
    """A new attempt (the next ``seq`` of its kind, so a new id and idempotency key) paying
    what a finally refused one should have paid; journalled. The caller checked the remainder."""
    seq = retry_seq(conn, failed.decision_id, failed.seq)  # in the failed one's band
    values = {"decision_id": failed.decision_id, "seq": seq}
    values |= {name: getattr(failed, name) for name in _COPIED}
    row = _insert_attempt(conn, values, now, journal={"retry_of": failed.id, "note": note})
    return str(row["id"])


def save_progress(conn: Connection, attempt_id: str, progress: dict[str, Any]) -> None:
    conn.execute(update(refund_attempts).where(refund_attempts.c.id == attempt_id)
                 .values(progress=json.dumps(progress, sort_keys=True)))
