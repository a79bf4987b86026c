"""Which provider pays back an order: one answer per payment, and one for store credit.

A decision's attempts are routed when they are written; the executor then calls the provider
the attempt names. ``route`` is what the service, the trouble corrections and the review queue
pass around (``router(config)``), so none of them needs the whole service to ask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from refunds_plugin.config import Config
from refunds_plugin.domain.facts import OrderFacts

Route = Callable[[OrderFacts], dict[str, str]]


def provider_for(config: Config, payment_provider: str) -> str:
    """Which provider executes money for a payment of ``payment_provider``."""
    if payment_provider == "stripe":
        return "dryrun" if config.dry_run else "stripe"
    if payment_provider == "saleor":
        return "saleor"
    # A provider we cannot call: in dry-run mode nothing moves anyway; live, the attempt
    # names the provider, the executor finds none and sends it to a person (never "paid").
    return "dryrun" if config.dry_run else payment_provider


def paid_by(order_facts: OrderFacts) -> dict[str, str]:
    """Whose money each payment reference is, and under ``"credit"`` whose store credit the
    order gets: the providers live money goes through, whatever the dry run (its rules, such
    as Stripe's steps, hold for a dry run too)."""
    sources = {p.reference: p.provider for p in order_facts.payments}
    first = order_facts.payments[0].provider if order_facts.payments else order_facts.source
    sources["credit"] = "saleor" if order_facts.source == "saleor" else first
    return sources


def route(config: Config, order_facts: OrderFacts) -> dict[str, str]:
    """The provider for each payment reference, and under ``"credit"`` the one for store credit."""
    return {ref: provider_for(config, by) for ref, by in paid_by(order_facts).items()}


def dry_run(config: Config, order_facts: OrderFacts) -> bool:
    """Whether this order's money would not move (the dry run pays one of its payments): the
    shop's test mode, as the order's pages and emails say."""
    return "dryrun" in route(config, order_facts).values()


def router(config: Config) -> Route:
    """``route`` for one configuration: the value handed to code that routes attempts."""
    return partial(route, config)


def test_mode(config: Config, providers: Iterable[str]) -> bool:
    """Whether money routed to ``providers`` would not really move: one is the dry run, or
    Stripe while its key is a test key (Stripe's test mode moves no real money)."""
    named = set(providers)
    return "dryrun" in named or (config.stripe_test and "stripe" in named)


def connected(config: Config, order_facts: OrderFacts) -> frozenset[str]:
    """The providers this service can call for the order: the dry run; Stripe with a key; the
    Saleor app for an order that came from Saleor (its install refunds it). Money routed to
    any other provider could not be sent, so such an approval goes to a person."""
    return frozenset({"dryrun"} | ({"stripe"} if config.stripe_api_key else set())
                     | ({"saleor"} if order_facts.source == "saleor" else set()))
