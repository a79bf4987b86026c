"""What each order line may be exchanged for: the variants the storefront sent with the order,
or for a Saleor order its product's variants and stock, read from Saleor (none when Saleor
cannot be asked: the page then offers refund and credit only)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import requests
from sqlalchemy import Engine

import policies
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest, Variant
from refunds_plugin.errors import RefundsError
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.facts import order_extra
from refunds_plugin.saleor import events as saleor_events
from refunds_plugin.saleor.variants import order_variants

log = logging.getLogger("refunds.exchanges")

Choices = dict[str, tuple[Variant, ...]]


def for_order(engine: Engine, policy: policies.Policy,
              saleor: saleor_events.SaleorEvents | None, facts: OrderFacts,
              wanted: Mapping[str, int] | None = None) -> Choices:
    """Each line's exchange choices: the storefront's own, else Saleor's variants, in stock
    where Saleor has the units ``wanted`` (by SKU; a request's) or at least one."""
    if not policy.exchange.allowed:
        return {}
    known = {ln.id: ln.variants for ln in facts.lines if ln.variants}
    if facts.source != "saleor" or saleor is None:
        return known
    with engine.connect() as conn:
        stored = order_extra(conn, facts.order_id).get("saleor") or {}
    if not stored.get("api_url"):
        return known
    try:
        client = saleor.client(stored["api_url"])
        return {**order_variants(client, facts, stored.get("channel"), wanted), **known}
    except (RefundsError, requests.RequestException) as exc:
        log.warning("could not read Saleor variants for %s: %s", facts.order_id, exc)
        return known


def for_request(engine: Engine, policy: policies.Policy,
                saleor: saleor_events.SaleorEvents | None, request: ReturnRequest,
                now: datetime) -> Choices:
    """A Saleor order's choices when the request asks for an exchange (a storefront's request
    carries its own)."""
    if saleor is None or not policy.exchange.allowed \
            or not any(rl.exchange_for for rl in request.lines):
        return {}
    with engine.connect() as conn:
        facts = facts_mod.load_facts(conn, request.order_id, now, policy.abuse_window_days)
    wanted: dict[str, int] = {}  # every unit asked of a variant, over all the lines
    for rl in request.lines:
        if rl.exchange_for is not None:
            sku = rl.exchange_for.sku
            wanted[sku] = wanted.get(sku, 0) + rl.quantity
    return for_order(engine, policy, saleor, facts, wanted) \
        if facts is not None and facts.source == "saleor" else {}
