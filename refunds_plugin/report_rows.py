"""One decision as finance sees it: the export columns, the row built from a ``decisions`` row
and its attempts' statuses, and the one-word money status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.money import Money
from refunds_plugin.tables import refund_attempts

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


def parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def money_status(statuses: list[str]) -> str:
    """One word for where a decision's money is: none, pending, sent, succeeded, unknown (the
    provider never answered: it may have paid), failed, mixed."""
    if not statuses:
        return "none"
    unique = set(statuses)
    if len(unique) == 1:
        return statuses[0]
    if "unknown" in unique:  # before "failed": money that may have moved needs a look first
        return "unknown"
    if "failed" in unique:
        return "failed"
    return "pending" if unique & {"pending", "in_progress"} else "mixed"


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
    """Each decision's attempt statuses, in attempt order, for the decisions ``ids``."""
    out: dict[str, list[str]] = {}
    for decision_id, status in conn.execute(
        select(refund_attempts.c.decision_id, refund_attempts.c.status)
        .where(refund_attempts.c.decision_id.in_(ids))
        .order_by(refund_attempts.c.seq)
    ):
        out.setdefault(decision_id, []).append(status)
    return out
