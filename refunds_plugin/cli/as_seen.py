"""What ``refunds policy explain`` says the running service sees beside the policy, one line
each: which provider the amounts assume and its step, whether labels can be bought, whether a
return is opened for the parcel, and whether money moves (test mode). None: nothing to say."""

from __future__ import annotations

import policies
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.money import Money


def money_line(test: bool) -> str | None:
    """In test mode no money moves: said, as the service sees it (None: it would move)."""
    if not test:
        return None
    return ("money:       test mode (no REFUNDS_STRIPE_API_KEY, or a test key), as the service "
            "sees it: no real money moves, nothing is charged for an exchange, and the customer "
            "is not told when money goes")


def labels_line(pol: policies.Policy, facts: OrderFacts) -> str | None:
    """For a policy that asks for prepaid labels: whether one can be bought, as the service
    sees it (``Config.can_label``), and so whether the label fee is taken and a first-scan
    refund can wait for a scan (None: the policy buys no label)."""
    if pol.return_shipping.label == "none":
        return None
    if facts.can_label:
        return ("labels:      can be bought (REFUNDS_EASYPOST_API_KEY and a return address), "
                "as the service sees it")
    return ("labels:      cannot be bought (no REFUNDS_EASYPOST_API_KEY or no return address), "
            "as the service sees it: no label fee is deducted and no carrier scan comes")


def returns_line(facts: OrderFacts) -> str | None:
    """Without a return address (``OrderFacts.return_opened`` False) no return is opened, so
    nothing waits for the parcel: said, as the service sees it (None: one is configured)."""
    if facts.return_opened:
        return None
    return ("returns:     no return address is configured ([[return_addresses]]), as the "
            "service sees it: no return waits for its parcel, the money moves and an "
            "exchange's new item ships at approval")


def paid_with(facts: OrderFacts) -> str:
    """Which provider the amounts assume, and its step where it has one."""
    paid = ", ".join(sorted({p.provider for p in facts.payments})) or "no payment"
    if facts.refund_increment <= 1:
        return f"paid with:   {paid}"
    return (f"paid with:   {paid} (refunds and store credit go in steps of "
            f"{Money(facts.refund_increment, facts.currency)}, as the service sends them)")
