"""Which currencies the shop sells in that a policy's amount rules do not cover.

An amount rule without an amount for an order's currency acts on that order as docs/policy.md's
table ("Money in a policy file") says, and not the same way for every rule: a missing limit sends
every such return to a person (``limit_currency_unknown``), a missing fee is not charged.
``refunds policy check`` and ``refunds serve`` say what happens per rule, one line per currency,
for every currency seen in the ledger's orders.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from policies import Policy
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import orders


def ledger_currencies(engine: Engine) -> list[str]:
    """The currencies of the orders in the ledger, sorted; none if it has no orders table."""
    try:
        with engine.connect() as conn:
            found = conn.execute(select(orders.c.currency).distinct()).scalars().all()
    except SQLAlchemyError:  # not migrated yet: nothing has been sold
        return []
    return sorted({str(c).upper() for c in found})


def uncovered(policy: Policy, currencies: list[str]) -> dict[str, list[str]]:
    """Each currency with the policy keys that give no amount in it (covered ones left out)."""
    tables = policy.amount_tables()
    gaps = {cur: [key for key, table in tables if table.get(cur) is None] for cur in currencies}
    return {cur: keys for cur, keys in gaps.items() if keys}


# what the policy does with an order in a currency the key gives no amount for (the code in
# ``policies/``: safeguards.limits, resolution, exchange, corrections, tiers); {cur}: the currency
_REVIEWED = ("a {cur} return the policy would approve is sent to a person for review instead "
             "(limit_currency_unknown)")
_EFFECT = {
    "limits.auto_approve_per_request": _REVIEWED,
    "limits.auto_approve_per_order": _REVIEWED,
    "abuse.max_refund_amount": "the refunded-amount abuse signal is not checked",
    "resolution.credit_bonus_max": "the store-credit bonus is limited only by its percentage",
    "resolution.keep_item.below": "no item is kept for being cheap: it has to come back",
    "resolution.keep_item.return_label_cost": "no item is kept for its label cost: it has to "
                                              "come back",
    "fees.return_shipping": "no return-shipping fee is charged",
    "return_shipping.fee": "no label fee is deducted",
    "exchange.price_difference.higher.waive_up_to": "nothing of a dearer item's difference is "
                                                    "waived",
    "trouble.overpayment.auto_approve_up_to": "every overpayment correction is sent to a person",
    "trouble.duplicate_charge.auto_approve_up_to": "every duplicate-charge correction is sent "
                                                   "to a person",
    "min_projected_value": "the tier is not earned",
    "limits.auto_approve_per_request@tier": "the tier does not raise the limit per request",
    "limits.auto_approve_per_order@tier": "the tier does not raise the limit per order",
}


def effect(key: str, currency: str) -> str:
    """What happens to an order in ``currency`` when the policy key gives no amount in it."""
    if key.startswith("tiers["):
        rest = key.split(".", 1)[1]
        found = _EFFECT[rest if rest == "min_projected_value" else rest + "@tier"]
    else:
        found = _EFFECT[key]
    return found.format(cur=currency)


def currency_warnings(engine: Engine, policy: Policy) -> list[str]:
    """One warning line per currency in the ledger that an amount rule of ``policy`` misses,
    saying per rule what then happens to such an order."""
    return [
        f"warning: orders in {cur} but policy {policy.name!r} gives no {cur} amount for "
        + "; ".join(f"{key} ({effect(key, cur)})" for key in keys)
        + " (docs/policy.md, \"Money in a policy file\")"
        for cur, keys in uncovered(policy, ledger_currencies(engine)).items()
    ]


def ledger_warnings(url: str, policy: Policy) -> list[str]:
    """``currency_warnings`` for the ledger at ``url``; none when there is no reachable ledger
    (``policy check`` checks a file; a SQLite file that does not exist is not created for it)."""
    if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
        return []
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError):  # a driver that is not installed: nothing to read
        return []
    try:
        return currency_warnings(engine, policy)
    finally:
        engine.dispose()
