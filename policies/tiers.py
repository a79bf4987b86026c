"""Customer lifetime value from the ledger's history, and the loyalty tier it earns.

Projected value = typical purchase x orders a year x expected years, which simplifies to
``total_paid x 12 x expected_years / months_as_customer``; a customer of under a year counts as
one year, so a single large first order does not look like a habit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policies.policy import AmountTable, Policy, Tier
from refunds_plugin.domain.facts import CustomerHistory


@dataclass(slots=True)
class Standing:
    """The customer's value and every tier it meets; each benefit is the best of those tiers.

    Taking the best of all met tiers (rather than the last one) means qualifying for more can
    never make an answer worse, however the merchant orders the list.
    """

    months: int
    projected_value: int
    tiers: tuple[Tier, ...] = ()
    extra_window_days: int | None = 0  # None: unlimited; the best of the met tiers
    tier_name: str = "base"  # the highest met tier's name
    waive_fees: bool = False  # any met tier waives fees

    def limit(self, base: AmountTable | None, which: str, currency: str) -> tuple[bool, int | None]:
        """(known, minor) for a per-request/per-order limit: the best of base and met tiers.

        A tier that leaves a limit unset does not change it. ``(True, None)`` is "no limit";
        ``(False, None)`` is a limit not written for this currency (the caller reviews).
        """
        if base is None:
            return True, None
        if not self.tiers:
            value = base.get(currency)
            return value is not None, value
        values = [base.get(currency)]
        values += [getattr(t.limits, which).get(currency) for t in self.tiers
                   if getattr(t.limits, which) is not None]
        known = [v for v in values if v is not None]
        return (True, max(known)) if known else (False, None)


def months_as_customer(history: CustomerHistory, now: datetime) -> int:
    if history.first_order_at is None or history.first_order_at > now:
        return 0
    first = history.first_order_at
    months = (now.year - first.year) * 12 + now.month - first.month
    return months - 1 if now.day < first.day else months


def projected_value(history: CustomerHistory, months: int, expected_years: int) -> int:
    if history.order_count <= 0 or history.total_paid <= 0:
        return 0
    return history.total_paid * 12 * expected_years // max(months, 12)


def standing(policy: Policy, history: CustomerHistory, currency: str, now: datetime) -> Standing:
    """The highest tier whose every threshold the customer meets; later tiers rank higher."""
    months = months_as_customer(history, now)
    value = projected_value(history, months, policy.expected_years)
    met = tuple(t for t in policy.tiers if _meets(t, history, months, value, currency)) \
        if policy.tiers else ()
    if not met:
        return Standing(months, value)
    extra: int | None = None
    if all(t.extra_window_days is not None for t in met):
        extra = max(t.extra_window_days or 0 for t in met)
    return Standing(months, value, met, extra, met[-1].name, any(t.waive_fees for t in met))


def _meets(tier: Tier, history: CustomerHistory, months: int, value: int, currency: str) -> bool:
    if history.order_count < tier.min_orders or months < tier.min_months:
        return False
    if tier.min_projected_value is None:
        return True
    threshold = tier.min_projected_value.get(currency)
    return threshold is not None and value >= threshold
