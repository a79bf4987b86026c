"""What the executor hands a provider: an attempt, plus its decision's policy hash and the
order's provider-specific facts (Saleor ids and the like), read in one query per batch."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.facts import order_extra
from refunds_plugin.ledger.tables import decisions, orders
from refunds_plugin.providers import Instruction


def build(attempt: AttemptRow, policy_hash: str, extra: dict[str, Any]) -> Instruction:
    return Instruction(
        attempt_id=attempt.id,
        decision_id=attempt.decision_id,
        order_id=attempt.order_id,
        idempotency_key=attempt.idempotency_key,
        kind=attempt.kind,
        amount=attempt.amount,
        currency=attempt.currency,
        bonus=attempt.bonus,
        payment_reference=attempt.payment_reference,
        customer_id=attempt.customer_id,
        customer_email=attempt.customer_email,
        reason=attempt.reason,
        policy_hash=policy_hash,
        progress=attempt.progress,
        extra=extra,
    )


def instruction_for(engine: Engine, attempt: AttemptRow) -> Instruction:
    with engine.connect() as conn:
        policy_hash = conn.execute(
            select(decisions.c.policy_hash).where(decisions.c.id == attempt.decision_id)
        ).scalar_one()
        extra = order_extra(conn, attempt.order_id)
    return build(attempt, policy_hash, extra)


def instructions_for(engine: Engine, batch: list[AttemptRow]) -> dict[str, Instruction]:
    """The instructions for a claimed batch, read in one query."""
    if not batch:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(decisions.c.id, decisions.c.policy_hash).where(
                decisions.c.id.in_({a.decision_id for a in batch})
            )
        ).all()
        extras = conn.execute(
            select(orders.c.order_id, orders.c.extra).where(
                orders.c.order_id.in_({a.order_id for a in batch})
            )
        ).all()
    hashes = dict(rows)
    extra = {oid: json.loads(raw) if raw else {} for oid, raw in extras}
    return {  # one whose decision is missing is left to ``instruction_for``, which raises
        a.id: build(a, hashes[a.decision_id], extra.get(a.order_id, {}))
        for a in batch
        if a.decision_id in hashes
    }
