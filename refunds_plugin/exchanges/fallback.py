"""An exchange whose difference was never paid becomes what the policy offered instead: the
exchanged lines decided again as a plain return (a refund, or store credit with its bonus), once
per exchange (``request_key`` ``exchange-fallback:<decision>``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select

import policies
from refunds_plugin.domain import Decision, Reason, ResolutionKind, ReturnLine, ReturnRequest
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.facts import FALLBACK_KEY
from refunds_plugin.ledger.tables import decisions
from refunds_plugin.routing import Route


def fall_back(conn: Connection, policy: policies.Policy, route: Route, row: ExchangeRow,
              now: datetime) -> tuple[str, tuple[str, ...]]:
    """Decide the exchanged lines as a return instead; (note, attempts to nudge)."""
    found = conn.execute(select(decisions.c.body, decisions.c.request, decisions.c.created_at)
                         .where(decisions.c.id == row.decision_id)).first()
    if found is None or row.status != "awaiting_payment":
        return f"exchange {row.decision_id}: nothing to fall back from", ()
    original = Decision.from_dict(json.loads(found.body))
    asked = json.loads(found.request)
    assert original.exchange is not None
    reasons = {ln.line_id: ln.reason for ln in original.lines}
    swapped = {ln.line_id: ln.quantity for ln in original.exchange.lines}
    prefer = asked.get("preferred_resolution")
    request = ReturnRequest(
        request_id=f"{FALLBACK_KEY}{row.decision_id}", order_id=row.order_id,
        lines=tuple(ReturnLine(lid, q, Reason(reasons[lid])) for lid, q in swapped.items()),
        preferred_resolution=ResolutionKind(prefer) if prefer else None,
        channel="exchange_fallback")
    facts = facts_mod.load_facts(conn, row.order_id, now, policy.abuse_window_days)
    if facts is None:
        return f"exchange {row.decision_id}: order {row.order_id} unknown", ()
    # the exchanged units were counted as returned by the exchange itself: decide them afresh
    left = tuple((lid, q - swapped.get(lid, 0)) for lid, q in facts.returned_quantities)
    facts = replace(facts, returned_quantities=tuple((lid, q) for lid, q in left if q > 0))
    # judged as of the original request (its window), not as of the expiry
    decision = policies.evaluate(policy, facts, request, aware(found.created_at))
    recorded = record_decision(conn, decision=decision, facts=facts, request=request,
                               request_key=request.request_id, route=route(facts), now=now)
    exchanges.fall_back(conn, row, recorded.id, now)
    return (f"exchange {row.decision_id} not paid: decided as {decision.resolution_summary} "
            f"instead ({recorded.id})", recorded.attempt_ids)
