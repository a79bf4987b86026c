"""The ledger's write path: the event inbox, the hash-chained journal, decisions and attempts.

Every function takes an open ``Connection`` inside the caller's transaction; nothing here
commits. Deduplication is by unique constraint (``INSERT … ON CONFLICT DO NOTHING``), never by
looking first and inserting after.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain import (
    Decision,
    OrderFacts,
    Outcome,
    ResolutionKind,
    ReturnRequest,
)
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.db import lock_ledger
from refunds_plugin.ledger.safeguard import guard_refundable
from refunds_plugin.ledger.tables import decisions, events, ledger_entries, refund_attempts, reviews

ATTEMPT_NAMESPACE = uuid.UUID("8f0f8d52-52a4-4c1e-9d53-3b1f1f0c2a77")
LIVE_ATTEMPT = ("pending", "in_progress", "sent", "succeeded")  # count against refundable


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds one; True if inserted."""
    return _insert_returning_key(conn, table, values) is not None


_INSERT_IGNORE: dict[tuple[str, str], Any] = {}


def _insert_returning_key(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """The new row's primary key, or None when a unique constraint already holds the row."""
    name = conn.dialect.name
    stmt = _INSERT_IGNORE.get((name, table.name))
    if stmt is None:
        # built once, values bound at execution: building ``insert().values(**row)`` per call
        # cost more Python time than SQLite spent running it
        dialect = postgresql if name == "postgresql" else sqlite
        key = next(iter(table.primary_key.columns))
        # RETURNING, not rowcount: psycopg reports rowcount -1 here under SQLAlchemy 2.1
        stmt = dialect.insert(table).on_conflict_do_nothing().returning(key)
        _INSERT_IGNORE[(name, table.name)] = stmt
    return conn.execute(stmt, values).scalar()


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


# --- the inbox -----------------------------------------------------------------------------------


def record_event(
    conn: Connection,
    source: str,
    event_id: str,
    type_: str,
    payload: str,
    now: datetime,
    status: str = "recorded",
) -> int | None:
    """Record an incoming event; None if this ``(source, event_id)`` was recorded before.

    A caller that handles the event in this same transaction may record it with its final
    ``status`` at once: nobody outside the transaction ever sees the row before it commits.
    """
    row_id = _insert_returning_key(
        conn,
        events,
        {
            "source": source,
            "event_id": event_id,
            "type": type_,
            "received_at": now,
            "payload": payload,
            "status": status,
        },
    )
    return None if row_id is None else int(row_id)


_MARK_EVENT = (
    update(events)
    .where(events.c.id == bindparam("row_id"))
    .values(status=bindparam("status"), note=bindparam("note"))
)


def mark_event(conn: Connection, row_id: int, status: str, note: str | None = None) -> None:
    conn.execute(_MARK_EVENT, {"row_id": row_id, "status": status, "note": note})


# --- the journal ---------------------------------------------------------------------------------


_CHAIN_TAIL = select(ledger_entries.c.hash).order_by(ledger_entries.c.seq.desc()).limit(1)
_APPEND = ledger_entries.insert()


def _tail(conn: Connection) -> tuple[Any, str | None]:
    """The chain's last hash as this transaction last wrote it, keyed by the innermost
    transaction: a new transaction or a savepoint (which could roll back) reads it afresh."""
    txn = conn.get_nested_transaction() or conn.get_transaction()
    held = conn.info.get("chain_tail")
    if held is not None and held[0] is txn:
        return txn, held[1]
    return txn, None


def append_entry(
    conn: Connection, entry_type: str, subject_id: str, body: dict[str, Any], now: datetime
) -> str:
    """Append one hash-chained entry; returns its hash. Serialised by the ledger lock.

    The ledger lock is held from the first append to commit, so within one transaction the
    tail this transaction last appended is still the tail: it is read from the table once.
    """
    lock_ledger(conn)
    txn, prev = _tail(conn)
    if prev is None:
        prev = conn.execute(_CHAIN_TAIL).scalar_one_or_none() or chain.GENESIS
    body_json = chain.canonical(body)
    digest = chain.entry_hash(prev, entry_type, subject_id, body_json)
    conn.execute(
        _APPEND,
        {
            "entry_type": entry_type,
            "subject_id": subject_id,
            "body": body_json,
            "prev_hash": prev,
            "hash": digest,
            "created_at": now,
        },
    )
    conn.info["chain_tail"] = (txn, digest)
    return digest


# --- decisions and their attempts ----------------------------------------------------------------


@dataclass(frozen=True)
class RecordedDecision:
    id: str
    decision: Decision
    attempt_ids: tuple[str, ...]
    created: bool  # False when this request had been decided before
    # the attempt rows as this transaction wrote them (empty when found, not created)
    written: tuple[dict[str, Any], ...] = ()


def attempt_id_for(decision_id: str, seq: int) -> str:
    return str(uuid.uuid5(ATTEMPT_NAMESPACE, f"{decision_id}:{seq}"))


def idempotency_key_for(attempt_id: str) -> str:
    """The provider idempotency key: derived from the attempt id, the same on every try."""
    return f"refunds-plugin-attempt-{attempt_id}"


def find_decision(conn: Connection, order_id: str, request_key: str) -> RecordedDecision | None:
    row = conn.execute(
        select(decisions.c.id, decisions.c.body).where(
            decisions.c.order_id == order_id, decisions.c.request_key == request_key
        )
    ).first()
    if row is None:
        return None
    attempt_ids = (
        conn.execute(
            select(refund_attempts.c.id)
            .where(refund_attempts.c.decision_id == row.id)
            .order_by(refund_attempts.c.seq)
        )
        .scalars()
        .all()
    )
    return RecordedDecision(
        row.id, Decision.from_dict(json.loads(row.body)), tuple(attempt_ids), created=False
    )


def plain(value: Any) -> Any:
    """``dataclasses.asdict`` for JSON: the same shape, without deep-copying every leaf (which
    made ``asdict`` of an order's facts cost more than the statements that store them)."""
    fields_ = getattr(type(value), "__dataclass_fields__", None)
    if fields_ is not None:
        return {name: plain(getattr(value, name)) for name in fields_}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def decision_body(decision: Decision) -> dict[str, Any]:
    """``Decision.to_dict()`` as JSON sees it (same keys and values), built with ``plain``."""
    return {**plain(decision), "amount": decision.amount, "resolution": decision.resolution_summary}


def facts_json(facts: OrderFacts) -> dict[str, Any]:
    return dict(plain(facts))


def request_json(request: ReturnRequest | dict[str, Any]) -> dict[str, Any]:
    return request if isinstance(request, dict) else dict(plain(request))


def record_decision(
    conn: Connection,
    *,
    decision: Decision,
    facts: OrderFacts,
    request: ReturnRequest | dict[str, Any],
    request_key: str,
    route: dict[str, str],
    now: datetime,
    event_row: int | None = None,
) -> RecordedDecision:
    """Store a decision once per ``(order, request_key)``, its attempts and its journal entry.

    ``route`` maps a payment reference (or ``"credit"``) to the provider that executes it.
    Attempts are created only for an approved decision; a review opens a review row instead.
    """
    decision = guard_refundable(decision, facts)
    decision_id = str(uuid.uuid4())
    body = decision_body(decision)
    inserted = insert_ignore(
        conn,
        decisions,
        {
            "id": decision_id,
            "order_id": facts.order_id,
            "request_key": request_key,
            "kind": decision.kind.value,
            "outcome": decision.outcome.value,
            "resolution": decision.resolution_summary,
            "currency": decision.currency,
            "amount": decision.amount,
            "refund_amount": decision.refund_amount,
            "credit_amount": decision.credit_amount,
            "reason_code": decision.reason_code,
            "policy_name": decision.policy_name,
            "policy_hash": decision.policy_hash,
            "explanation": decision.explanation,
            "body": to_json(body),
            "facts": to_json(facts_json(facts)),
            "request": to_json(request_json(request)),
            "customer_id": facts.customer.id,
            "customer_email": facts.customer.email,
            "event_id": event_row,
            "created_at": now,
        },
    )
    if not inserted:
        existing = find_decision(conn, facts.order_id, request_key)
        assert existing is not None  # the unique constraint said it exists
        return existing
    append_entry(
        conn,
        "decision",
        decision_id,
        {"decision": body, "order_id": facts.order_id, "request_key": request_key},
        now,
    )
    written: list[dict[str, Any]] = []
    if decision.outcome is Outcome.APPROVE:
        written = write_attempts(conn, decision_id, decision, facts, route, now)
    elif decision.outcome is Outcome.REVIEW:
        open_review(conn, decision_id, decision.reason_code, now)
    ids = tuple(row["id"] for row in written)
    return RecordedDecision(decision_id, decision, ids, created=True, written=tuple(written))


def create_attempts(
    conn: Connection,
    decision_id: str,
    decision: Decision,
    facts: OrderFacts,
    route: dict[str, str],
    now: datetime,
) -> list[str]:
    return [row["id"] for row in write_attempts(conn, decision_id, decision, facts, route, now)]


_INSERT_ATTEMPT = refund_attempts.insert()


def write_attempts(
    conn: Connection,
    decision_id: str,
    decision: Decision,
    facts: OrderFacts,
    route: dict[str, str],
    now: datetime,
) -> list[dict[str, Any]]:
    """Insert and journal the decision's refund attempts; returns the rows as written."""
    written: list[dict[str, Any]] = []
    reason = {"duplicate_charge": "duplicate"}.get(decision.kind.value, "requested_by_customer")
    for seq, res in enumerate(decision.resolutions):
        if res.total <= 0:
            continue
        attempt_id = attempt_id_for(decision_id, seq)
        provider = (
            route.get(res.payment_reference or "", "")
            if res.kind is ResolutionKind.REFUND
            else route.get("credit", "")
        )
        row = {
            "id": attempt_id,
            "decision_id": decision_id,
            "order_id": facts.order_id,
            "seq": seq,
            "provider": provider or "dryrun",
            "kind": res.kind.value,
            "currency": decision.currency,
            "amount": res.amount,
            "bonus": res.bonus,
            "payment_reference": res.payment_reference,
            "customer_id": facts.customer.id,
            "customer_email": facts.customer.email,
            "reason": reason,
            "idempotency_key": idempotency_key_for(attempt_id),
            "status": "pending",
            "tries": 0,
            "next_try_at": now,
            "created_at": now,
            "updated_at": now,
        }
        conn.execute(_INSERT_ATTEMPT, row)
        append_entry(
            conn,
            "attempt",
            attempt_id,
            {
                "status": "pending",
                "decision_id": decision_id,
                "kind": res.kind.value,
                "amount": res.amount,
                "bonus": res.bonus,
                "currency": decision.currency,
                "provider": row["provider"],
                "payment_reference": res.payment_reference,
                "idempotency_key": row["idempotency_key"],
            },
            now,
        )
        written.append(row)
    return written


def open_review(conn: Connection, decision_id: str, reason: str, now: datetime) -> None:
    """Open the decision's review, or re-open it when it was decided before (one row per
    decision): a payout that fails after an approval goes back to a person."""
    if insert_ignore(
        conn,
        reviews,
        {"decision_id": decision_id, "status": "open", "reason": reason, "opened_at": now},
    ):
        append_entry(conn, "review_opened", decision_id, {"reason": reason}, now)
        return
    reopened = conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id, reviews.c.status != "open")
        .values(
            status="open", reason=reason, opened_at=now, decided_by=None, decided_at=None,
            note=None,
        )
    ).rowcount
    if reopened == 1:
        append_entry(
            conn, "review_reopened", decision_id, {"reason": reason, "status": "open"}, now
        )


def attempt_totals(conn: Connection, order_id: str) -> dict[str, int]:
    """Per payment reference: what our live attempts hold (pending, sent or succeeded)."""
    rows = conn.execute(
        select(refund_attempts.c.payment_reference, func.sum(refund_attempts.c.amount))
        .where(
            refund_attempts.c.order_id == order_id,
            refund_attempts.c.kind == "refund",
            refund_attempts.c.status.in_(LIVE_ATTEMPT),
        )
        .group_by(refund_attempts.c.payment_reference)
    ).all()
    return {ref or "": int(total or 0) for ref, total in rows}
