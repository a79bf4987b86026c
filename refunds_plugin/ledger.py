"""The ledger's write path: the event inbox, the hash-chained journal, decisions and attempts.

Every function takes an open ``Connection`` inside the caller's transaction; nothing here
commits. Deduplication is by unique constraint (``INSERT … ON CONFLICT DO NOTHING``), never by
looking first and inserting after.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin import chain
from refunds_plugin.db import lock_ledger
from refunds_plugin.domain import Decision, OrderFacts, Outcome, ResolutionKind, ReturnRequest
from refunds_plugin.tables import decisions, events, ledger_entries, refund_attempts, reviews

ATTEMPT_NAMESPACE = uuid.UUID("8f0f8d52-52a4-4c1e-9d53-3b1f1f0c2a77")
LIVE_ATTEMPT = ("pending", "in_progress", "sent", "succeeded")  # count against refundable


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds one; True if inserted."""
    return _insert_returning_key(conn, table, values) is not None


def _insert_returning_key(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """The new row's primary key, or None when a unique constraint already holds the row."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement under SQLAlchemy 2.1
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).scalar()


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


# --- the inbox -----------------------------------------------------------------------------------


def record_event(
    conn: Connection, source: str, event_id: str, type_: str, payload: str, now: datetime
) -> int | None:
    """Record an incoming event; None if this ``(source, event_id)`` was recorded before."""
    row_id = _insert_returning_key(
        conn,
        events,
        {
            "source": source,
            "event_id": event_id,
            "type": type_,
            "received_at": now,
            "payload": payload,
            "status": "recorded",
        },
    )
    return None if row_id is None else int(row_id)


def mark_event(conn: Connection, row_id: int, status: str, note: str | None = None) -> None:
    conn.execute(update(events).where(events.c.id == row_id).values(status=status, note=note))


# --- the journal ---------------------------------------------------------------------------------


def append_entry(
    conn: Connection, entry_type: str, subject_id: str, body: dict[str, Any], now: datetime
) -> str:
    """Append one hash-chained entry; returns its hash. Serialised by the ledger lock."""
    lock_ledger(conn)
    prev = (
        conn.execute(
            select(ledger_entries.c.hash).order_by(ledger_entries.c.seq.desc()).limit(1)
        ).scalar_one_or_none()
        or chain.GENESIS
    )
    body_json = chain.canonical(body)
    digest = chain.entry_hash(prev, entry_type, subject_id, body_json)
    conn.execute(
        ledger_entries.insert().values(
            entry_type=entry_type,
            subject_id=subject_id,
            body=body_json,
            prev_hash=prev,
            hash=digest,
            created_at=now,
        )
    )
    return digest


# --- decisions and their attempts ----------------------------------------------------------------


@dataclass(frozen=True)
class RecordedDecision:
    id: str
    decision: Decision
    attempt_ids: tuple[str, ...]
    created: bool  # False when this request had been decided before


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


def facts_json(facts: OrderFacts) -> dict[str, Any]:
    return asdict(facts)


def request_json(request: ReturnRequest | dict[str, Any]) -> dict[str, Any]:
    return request if isinstance(request, dict) else asdict(request)


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
    decision_id = str(uuid.uuid4())
    body = decision.to_dict()
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
    attempt_ids: list[str] = []
    if decision.outcome is Outcome.APPROVE:
        attempt_ids = create_attempts(conn, decision_id, decision, facts, route, now)
    elif decision.outcome is Outcome.REVIEW:
        open_review(conn, decision_id, decision.reason_code, now)
    return RecordedDecision(decision_id, decision, tuple(attempt_ids), created=True)


def create_attempts(
    conn: Connection,
    decision_id: str,
    decision: Decision,
    facts: OrderFacts,
    route: dict[str, str],
    now: datetime,
) -> list[str]:
    ids: list[str] = []
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
        conn.execute(refund_attempts.insert().values(**row))
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
        ids.append(attempt_id)
    return ids


def open_review(conn: Connection, decision_id: str, reason: str, now: datetime) -> None:
    if insert_ignore(
        conn,
        reviews,
        {"decision_id": decision_id, "status": "open", "reason": reason, "opened_at": now},
    ):
        append_entry(conn, "review_opened", decision_id, {"reason": reason}, now)


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
