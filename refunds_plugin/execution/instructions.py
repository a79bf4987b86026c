"""What the executor hands a provider: an attempt, plus its decision's policy hash and the
order's provider-specific facts (Saleor ids and the like), read in one query per batch.

``extra`` also carries the decision itself (its stored body: kind, lines, what comes back),
whether the attempt is its decision's first on its provider, and, for an exchange's fallback,
the Saleor replacement order its exchange made (``returned_by_exchange``: the exchange's return,
recorded with ``replace: true``, already brought those lines back), so a provider never reads
the ledger: the Saleor provider records the return with the first (unless the exchange did)
and grants refunds per line.
An attempt whose stored JSON cannot be read gets an ``Unreadable`` instead, for itself alone:
the rest of its batch is read and sent as usual.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, select

from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.facts import FALLBACK_KEY
from refunds_plugin.ledger.tables import decisions, exchanges, orders, refund_attempts
from refunds_plugin.providers import Instruction


def build(
    attempt: AttemptRow, policy_hash: str, extra: dict[str, Any], decision: dict[str, Any],
    first: bool, returned_by_exchange: str | None = None,
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
        extra={**extra, "decision": decision, "records_return": first,
               "returned_by_exchange": returned_by_exchange},
    )


@dataclass(frozen=True)
class Unreadable:
    """An attempt whose instruction cannot be built: ``why`` names the stored JSON at fault.
    Nothing is sent for it; a person repairs the row. ``sent_before``: the bad JSON is what an
    earlier provider call saved (its progress), so that call may have moved money."""

    why: str
    sent_before: bool = False


def _loads(raw: str, what: str) -> dict[str, Any]:
    """A stored JSON object; ``ValueError`` naming ``what`` when it is not one (a row edited
    by hand, truncated, or of a shape we no longer read)."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is JSON of the wrong shape ({type(value).__name__}, not an "
                         "object)")
    return value


_ra = refund_attempts.c
_earlier = refund_attempts.alias("earlier")
# per attempt: its decision's policy hash and body, its order's provider facts, whether it is
# its decision's first attempt on its provider (no attempt of lower seq there), and for an
# exchange's fallback the replacement order its exchange made, in one statement for a whole
# batch. An attempt whose decision is missing has no row.
_READ = (
    select(
        _ra.id,
        decisions.c.policy_hash,
        decisions.c.body,
        orders.c.extra,
        ~exists().where(
            _earlier.c.decision_id == _ra.decision_id,
            _earlier.c.provider == _ra.provider,
            _earlier.c.seq < _ra.seq,
        ).label("first"),
        exchanges.c.replacement_id,
    )
    .join(decisions, decisions.c.id == _ra.decision_id)
    .outerjoin(orders, orders.c.order_id == _ra.order_id)
    # the exchange a fallback decision replaces, found by its key ("exchange-fallback:<id>")
    # through the primary key, and only the one that fell back to this very decision
    .outerjoin(exchanges, and_(
        decisions.c.request_key.startswith(FALLBACK_KEY),
        exchanges.c.decision_id == func.substr(decisions.c.request_key, len(FALLBACK_KEY) + 1),
        exchanges.c.fallback_decision_id == _ra.decision_id))
    .where(_ra.id.in_(bindparam("ids", expanding=True)))
)


def instructions_for(
    conn: Connection, batch: list[AttemptRow]
) -> dict[str, Instruction | Unreadable]:
    """The instructions for a claimed batch, read in one statement inside the caller's
    transaction (the claim's). An attempt whose decision is missing is left out; one whose
    decision body or order facts are not JSON gets an ``Unreadable``."""
    if not batch:
        return {}
    read = {row.id: row for row in conn.execute(_READ, {"ids": [a.id for a in batch]})}
    found: dict[str, Instruction | Unreadable] = {}
    for attempt in batch:
        row = read.get(attempt.id)
        if row is None:
            continue
        facts = f"order {attempt.order_id}'s stored facts (orders.extra)"
        try:
            extra = _loads(row.extra, facts) if row.extra else {}
            body = _loads(row.body, f"decision {attempt.decision_id}'s stored body")
        except ValueError as exc:
            found[attempt.id] = Unreadable(str(exc))
            continue
        found[attempt.id] = build(attempt, row.policy_hash, extra, body, bool(row.first),
                                  row.replacement_id)
    return found


def instruction_for(engine: Engine, attempt: AttemptRow) -> Instruction | Unreadable:
    """One attempt's instruction, read on a connection of its own; raises ``LookupError``
    when its decision is missing."""
    with engine.connect() as conn:
        found = instructions_for(conn, [attempt])
    if attempt.id not in found:
        raise LookupError(f"attempt {attempt.id}: decision {attempt.decision_id} is not recorded")
    return found[attempt.id]
