"""How the finance pages write what people read: money in its currency (``1,254.00 USD``, never
``125400``), times in UTC to the minute and saying so, and a review's result in words.

Registered as Jinja filters on the finance blueprints (``register``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint

from refunds_plugin.finance.rows import not_granted
from refunds_plugin.language.catalogue import english
from refunds_plugin.ledger.db import aware
from refunds_plugin.money import Money


def money(amount: Any, currency: str) -> str:
    """``1,254.00 USD`` (``catalogue.english``); empty for no amount."""
    if amount is None or amount == "":
        return ""
    return english(int(amount), currency)


def typed(amount: Any, currency: str) -> str:
    """An amount as a form takes it back (``1254.00``: no grouping, no code), for an input's
    placeholder: the review form refuses ``1,254.00`` (so ``12,50`` is never read as 1,250)."""
    return Money(int(amount), currency).decimal_string()


def when(value: Any) -> str:
    """``2026-12-04 19:15 UTC``: the zone stated, no seconds or microseconds."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    found = aware(value)
    assert found is not None
    return found.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def review_text(row: dict[str, Any]) -> str:
    """A decision row's review in words: ``approved by Ada at 2026-12-04 19:15 UTC``,
    ``open`` (waiting for a person), or empty when it was never sent to one."""
    status = row.get("review_status") or ""
    if status in ("", "open"):
        return "waiting for a person" if status == "open" else ""
    by = row.get("review_decided_by") or "someone"
    at = when(row.get("review_decided_at"))
    return f"{status} by {by}" + (f" at {at}" if at else "")


def share(bp: Any) -> str:
    """Basis points as a percent with two decimals (``12.50 %``); ``n/a`` with nothing to
    divide by."""
    if bp is None or bp == "":
        return "n/a"
    return f"{int(bp) // 100}.{int(bp) % 100:02d} %"


_NO_MONEY = {
    "dry_run": "Dry run: REFUNDS_STRIPE_API_KEY is not set, so no money moves for orders paid "
               "through Stripe. Decisions and review approvals are recorded, but nothing is sent "
               "to Stripe.",
    "test": "Test mode: Stripe is called with a test key, so no real money moves for orders "
            "paid through Stripe. Decisions and review approvals are recorded as if paid.",
}


def money_notice(modes: dict[str, str]) -> str:
    """The finance pages' warning when Stripe money does not really move (``routing.
    money_modes``), so nobody approves a review thinking it pays; empty when it moves."""
    said = _NO_MONEY.get(modes.get("stripe", ""), "")
    if said and modes.get("saleor") == "live":
        said += " Saleor orders are refunded for real through the installed app."
    return said


def register(bp: Blueprint) -> None:
    bp.add_app_template_filter(money, "money")
    bp.add_app_template_filter(typed, "typed")
    bp.add_app_template_filter(share, "share")
    bp.add_app_template_filter(when, "when")
    bp.add_app_template_filter(review_text, "review_text")
    bp.add_app_template_filter(not_granted, "not_granted")
