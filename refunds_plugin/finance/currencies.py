"""Which currencies the shop sells in that a policy's amount rules do not cover.

A rule without an amount for an order's currency does not apply to that order (docs/policy.md,
"Money in a policy file"): a JPY order under a policy written in USD and EUR silently loses its
keep-the-item threshold and its limits. ``refunds policy check`` and ``refunds serve`` say so,
one line per currency, for every currency seen in the ledger's orders.
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


def currency_warnings(engine: Engine, policy: Policy) -> list[str]:
    """One warning line per currency in the ledger that an amount rule of ``policy`` misses."""
    return [
        f"warning: orders in {cur} but policy {policy.name!r} gives no {cur} amount for "
        f"{', '.join(keys)}; those rules do not apply to them (docs/policy.md, "
        "\"Money in a policy file\")"
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
