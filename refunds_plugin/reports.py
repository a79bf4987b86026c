"""Reading the ledger for people: recent decisions, and a streaming export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from sqlalchemy import Engine, select

from refunds_plugin.money import Money
from refunds_plugin.tables import decisions, refund_attempts

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
    """One word for where a decision's money is: none, pending, sent, succeeded, failed, mixed."""
    if not statuses:
        return "none"
    unique = set(statuses)
    if len(unique) == 1:
        return statuses[0]
    if "failed" in unique:
        return "failed"
    return "pending" if unique & {"pending", "in_progress"} else "mixed"


def _row(dec: Any, statuses: list[str]) -> dict[str, Any]:
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


def recent_decisions(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        decs = conn.execute(
            select(decisions).order_by(decisions.c.created_at.desc(), decisions.c.id).limit(limit)
        ).all()
        ids = [d.id for d in decs]
        att = conn.execute(
            select(refund_attempts.c.decision_id, refund_attempts.c.status)
            .where(refund_attempts.c.decision_id.in_(ids))
            .order_by(refund_attempts.c.seq)
        ).all()
    by_decision: dict[str, list[str]] = {}
    for decision_id, status in att:
        by_decision.setdefault(decision_id, []).append(status)
    return [_row(d, by_decision.get(d.id, [])) for d in decs]


def iter_decisions(
    engine: Engine, since: datetime | None, until: datetime | None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Stream decisions in created order with a server-side cursor; memory stays flat."""
    query = select(decisions).order_by(decisions.c.created_at, decisions.c.id)
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    with engine.connect() as conn, engine.connect() as side:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for chunk in result.partitions(batch):
            ids = [d.id for d in chunk]
            statuses: dict[str, list[str]] = {}
            for decision_id, status in side.execute(
                select(refund_attempts.c.decision_id, refund_attempts.c.status)
                .where(refund_attempts.c.decision_id.in_(ids))
                .order_by(refund_attempts.c.seq)
            ):
                statuses.setdefault(decision_id, []).append(status)
            for dec in chunk:
                yield _row(dec, statuses.get(dec.id, []))


def export_decisions(
    engine: Engine, out: IO[str], fmt: str, since: datetime | None, until: datetime | None
) -> int:
    count = 0
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in iter_decisions(engine, since, until):
        if writer:
            writer.writerow(row)
        else:
            out.write(json.dumps(row, default=str, sort_keys=True) + "\n")
        count += 1
    return count
