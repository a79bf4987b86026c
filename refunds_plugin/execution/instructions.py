"""What the executor hands a provider: an attempt, plus its decision's policy hash and the
order's provider-specific facts (Saleor ids and the like), read in a few queries per batch.

``extra`` also carries the decision itself (its stored body: kind, lines, what comes back) and
whether the attempt is its decision's first on its provider, so a provider never reads the
ledger: the Saleor provider records the return with the first and grants refunds per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.facts import order_extra
from refunds_plugin.ledger.tables import decisions, orders, refund_attempts
from refunds_plugin.providers import Instruction


def build(
    attempt: AttemptRow, policy_hash: str, extra: dict[str, Any], decision: dict[str, Any],
    first: bool,
) -> Instruction:
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
        extra={**extra, "decision": decision, "records_return": first},
    )


_ra = refund_attempts.c
# every attempt of the batch's decisions, in order: the first per provider records the return
_SIBLINGS = (
    select(_ra.id, _ra.decision_id, _ra.provider)
    .where(_ra.decision_id.in_(bindparam("ids", expanding=True)))
    .order_by(_ra.seq)
)


def _firsts(conn: Connection, decision_ids: Iterable[str]) -> set[str]:
    """The ids of each decision's first attempt on each provider."""
    first: dict[tuple[str, str], str] = {}
    for attempt_id, decision_id, provider in conn.execute(
        _SIBLINGS, {"ids": sorted(set(decision_ids))}
    ):
        first.setdefault((decision_id, provider), attempt_id)
    return set(first.values())


def instruction_for(engine: Engine, attempt: AttemptRow) -> Instruction:
    with engine.connect() as conn:
        policy_hash, body = conn.execute(
            select(decisions.c.policy_hash, decisions.c.body).where(
                decisions.c.id == attempt.decision_id
            )
        ).one()
        extra = order_extra(conn, attempt.order_id)
        firsts = _firsts(conn, [attempt.decision_id])
    return build(attempt, policy_hash, extra, json.loads(body), attempt.id in firsts)


def instructions_for(engine: Engine, batch: list[AttemptRow]) -> dict[str, Instruction]:
    """The instructions for a claimed batch, read in three queries."""
    if not batch:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(decisions.c.id, decisions.c.policy_hash, decisions.c.body).where(
                decisions.c.id.in_({a.decision_id for a in batch})
            )
        ).all()
        extras = conn.execute(
            select(orders.c.order_id, orders.c.extra).where(
                orders.c.order_id.in_({a.order_id for a in batch})
            )
        ).all()
        firsts = _firsts(conn, (a.decision_id for a in batch))
    hashes = {did: policy_hash for did, policy_hash, _ in rows}
    bodies = {did: json.loads(body) for did, _, body in rows}
    extra = {oid: json.loads(raw) if raw else {} for oid, raw in extras}
    return {  # one whose decision is missing is left to ``instruction_for``, which raises
        a.id: build(a, hashes[a.decision_id], extra.get(a.order_id, {}),
                    bodies[a.decision_id], a.id in firsts)
        for a in batch
        if a.decision_id in hashes
    }
