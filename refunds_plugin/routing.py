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


# Whether money moves, per provider and for the service as a whole (what `refunds serve`,
# /healthz and the pages say)

def money_modes(config: Config) -> dict[str, str]:
    """Per provider, whether money moves: ``live``, ``test`` (a Stripe test key: Stripe is
    called in its test mode, no real money moves), ``dry_run`` (decisions recorded, nothing
    sent) or ``off`` (no shop of that kind can reach the service).

    The mode is per provider: without a Stripe key Stripe is a dry run, while a Saleor shop's
    refunds and gift cards are always real, made through the installed app's own token.
    """
    return {
        "stripe": ("test" if config.stripe_test else "live") if config.stripe_api_key
        else "dry_run",
        "saleor": "live" if config.saleor_allowed_api_urls else "off",
    }


def no_money_moves(config: Config) -> bool:
    """True when no provider moves real money (every one a dry run, a test key or off): the
    only case a page about the service as a whole may say "test mode"."""
    return "live" not in money_modes(config).values()


def service_mode(config: Config) -> str:
    """The service as a whole: ``live`` (some provider moves real money), ``test`` (none does,
    but a test key calls a provider's test mode) or ``dry_run`` (no provider is called)."""
    modes = set(money_modes(config).values())
    return "live" if "live" in modes else "test" if "test" in modes else "dry_run"


_MODE_TEXT = {
    ("stripe", "live"): "stripe LIVE (money moves)",
    ("stripe", "dry_run"): "stripe DRY RUN (no money moves: REFUNDS_STRIPE_API_KEY is not set)",
    ("saleor", "live"): "saleor LIVE (refunds and gift cards are real)",
    ("saleor", "off"): "saleor off (REFUNDS_SALEOR_ALLOWED_API_URLS is empty)",
}


def money_banner(config: Config) -> str:
    """One line for ``refunds serve`` saying which providers move money."""
    said = [_MODE_TEXT[p, m] if (p, m) != ("stripe", "test") else
            f"stripe TEST mode ({config.stripe_api_key[:7]} key: no real money moves)"
            for p, m in money_modes(config).items()]
    return "money: " + "; ".join(said)


def stripe_secret_warning(config: Config) -> str | None:
    """For ``refunds serve``: a live Stripe key with no webhook signing secret, so every Stripe
    event (refund outcomes, disputes, payments) would be refused; None when that is not so."""
    if money_modes(config)["stripe"] != "live" or config.stripe_webhook_secrets:
        return None
    return ("stripe: REFUNDS_STRIPE_API_KEY is a live key but REFUNDS_STRIPE_WEBHOOK_SECRETS is "
            "not set, so every Stripe event to POST /webhooks/stripe will be refused (400 "
            "signature_not_configured): set it to your endpoint's signing secret (whsec_...)")
