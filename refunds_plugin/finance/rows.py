"""One decision as finance sees it: the export columns, the row built from a ``decisions`` row
and its attempts' statuses, and the one-word money status. A refused attempt that a review's
approval replaced with a new one (journalled as ``retry_of``) no longer speaks for the decision:
its replacement does."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.domain import WAITING, AttemptStatus
from refunds_plugin.errors import InputError
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts
from refunds_plugin.money import Money

EXPORT_COLUMNS = [
    "id",
    "created_at",
    "order_id",
    "request_key",
    "kind",
    "outcome",
    "resolution",
    "currency",
    "amount",
    "refund_amount",
    "credit_amount",
    "amount_text",
    "reason_code",
    "policy_name",
    "policy_hash",
    "customer_id",
    "customer_email",
    "money_status",
    "explanation",
]


def parse_when(value: str | datetime | None) -> datetime | None:
    """An aware datetime from ISO 8601 text (a date alone is its midnight); naive means UTC."""
    if not value:
        return None
    if isinstance(value, datetime):
        return aware(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return aware(parsed)


DATE_HINT = "an ISO 8601 date such as 2026-11-01 or a datetime such as 2026-11-01T10:00:00Z"


def parse_param(name: str, value: str | None) -> datetime | None:
    """``parse_when`` for a query parameter: text that is no date is a 400 naming ``name``."""
    try:
        return parse_when(value)
    except ValueError:
        raise InputError(f"{name}: expected {DATE_HINT}, found {value!r}",
                         code="invalid_parameter") from None


def money_status(statuses: list[str]) -> str:
    """One word for where a decision's money is: none, pending, sent, succeeded, unknown (the
    provider never answered: it may have paid), failed, mixed."""
    if not statuses:
        return "none"
    unique = set(statuses)
    if len(unique) == 1:
        return statuses[0]
    if AttemptStatus.UNKNOWN in unique:  # before failed: money that may have moved needs a look
        return AttemptStatus.UNKNOWN
    if AttemptStatus.FAILED in unique:
        return AttemptStatus.FAILED
    return AttemptStatus.PENDING if unique.intersection(WAITING) else "mixed"


def decision_row(dec: Any, statuses: list[str]) -> dict[str, Any]:
    """The ``EXPORT_COLUMNS`` of one ``decisions`` row, given its attempts' statuses in order."""
    return {
        "id": dec.id,
        "created_at": dec.created_at,
        "order_id": dec.order_id,
        "request_key": dec.request_key,
        "kind": dec.kind,
        "outcome": dec.outcome,
        "resolution": dec.resolution,
        "currency": dec.currency,
        "amount": int(dec.amount),
        "refund_amount": int(dec.refund_amount),
        "credit_amount": int(dec.credit_amount),
        "amount_text": str(Money(int(dec.amount), dec.currency)),
        "reason_code": dec.reason_code,
        "policy_name": dec.policy_name,
        "policy_hash": dec.policy_hash,
        "customer_id": dec.customer_id,
        "customer_email": dec.customer_email,
        "money_status": money_status(statuses),
        "explanation": dec.explanation,
    }


def attempt_statuses(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    """Each decision's attempt statuses, in attempt order, for the decisions ``ids``; a failed
    attempt a later one replaced is left out (the replacement's status stands for it)."""
    ra = refund_attempts.c
    rows = conn.execute(
        select(ra.decision_id, ra.id, ra.status).where(ra.decision_id.in_(ids)).order_by(ra.seq)
    ).all()
    # only a decision with a failed attempt and another attempt can have a replaced one
    failed = {r.decision_id for r in rows if r.status == AttemptStatus.FAILED}
    several = Counter(r.decision_id for r in rows if r.decision_id in failed)
    maybe = [r.id for r in rows if several[r.decision_id] > 1]
    gone = replaced_attempts(conn, maybe) if maybe else set()
    out: dict[str, list[str]] = {}
    for decision_id, attempt_id, status in rows:
        if not (status == AttemptStatus.FAILED and attempt_id in gone):
            out.setdefault(decision_id, []).append(status)
    return out


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
