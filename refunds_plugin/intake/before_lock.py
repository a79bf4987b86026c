"""A return's facts read and its policy run before the write transaction, where that is worth it.

On SQLite the write transaction holds the one write lock of the whole database (shared by every
process), so whatever a decision reads and computes inside it, every other writer waits for.
``before_lock`` reads the order (``facts.read_before``), makes the facts the service acts on and
runs the request check and the policy, with no lock held. Inside the transaction
``facts.read_order(..., before=)`` reads the order's own rows again (the order, its earlier
returns, its payments with what is refunded and pending against each); only when they are
unchanged does the decision made before stand, and the money check (``guard_refundable``) and
everything the decision writes still happen inside. When anything changed, the decision is
made inside as always. The customer's history is the one thing taken as read before the lock:
see ``facts.ReadBefore``.

On PostgreSQL the lock is the order's (``docs/journal.md``): nobody else waits for it, and a
second read would cost round trips, so the decision is made inside as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

import policies
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest, Variant
from refunds_plugin.intake import request_check
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.saleor.variants import with_variants


class Deciding(Protocol):
    def dry_run_for(self, order_facts: OrderFacts) -> bool: ...

    def decided_on(self, order_facts: OrderFacts, dry_run: bool | None = None) -> OrderFacts: ...


@dataclass(frozen=True)
class Made:
    """The facts as the service acts on them (offered variants, dry run, label fee), whether
    the order's money would go to the dry run, and the policy's decision (None: not made)."""

    facts: OrderFacts
    dry_run: bool
    decision: Decision | None = None


@dataclass(frozen=True)
class Before:
    read: facts_mod.ReadBefore
    made: Made

    def made_for(self, found: OrderFacts) -> Made | None:
        """What was made before, if ``found`` (``read_order``'s) is the facts it was made of."""
        return self.made if found is self.read.found[0] else None


def prepare(service: Deciding, found: OrderFacts,
            offered: dict[str, tuple[Variant, ...]]) -> Made:
    facts = with_variants(found, offered) if offered else found
    dry_run = service.dry_run_for(facts)
    return Made(service.decided_on(facts, dry_run), dry_run)


def before_lock(engine: Engine, service: Deciding, request: ReturnRequest,
                terms: policies.Policy, offered: dict[str, tuple[Variant, ...]],
                now: datetime) -> Before | None:
    """The order read and the request decided with no lock held (SQLite only); None: not
    here, or no such order (the transaction says so)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        read = facts_mod.read_before(conn, request.order_id, now, terms.abuse_window_days)
    if read is None:
        return None
    made = prepare(service, read.found[0], offered)
    try:
        request_check.check(made.facts, request)
        decision = policies.evaluate(terms, made.facts, request, request.requested_at or now)
    except Exception:  # noqa: BLE001 - decided again inside, where it raises as it always did
        return Before(read, made)
    return Before(read, replace(made, decision=decision))
