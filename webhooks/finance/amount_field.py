"""The review form's amount box: what a person may type, in the currency's own decimals.

Digits with a point before the currency's decimals (``12.50`` EUR, ``12`` JPY, ``12.500`` KWD),
optionally grouped US-style with commas between groups of three before the point (``1,000.00``).
Nothing else: ``1000,50`` could be a thousand and fifty cents or a hundred thousand and fifty, so
it is refused rather than guessed; so are spaces, apostrophes and points between groups.
"""

from __future__ import annotations

import re

from refunds_plugin.money import AmountError, Money, exponent

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def typed_minor(text: str, currency: str) -> int:
    """The amount typed, in minor units of ``currency``; ``AmountError`` with the hint."""
    plain = text.replace(",", "") if _GROUPED.match(text) else text
    if "," in plain:
        raise AmountError(refusal(text, currency))
    try:
        return Money.parse(plain, currency).minor
    except AmountError:
        raise AmountError(refusal(text, currency)) from None


def refusal(text: str, currency: str) -> str:
    """``“12.50” is not an amount in JPY (write it like 12 or 1,200: …)``."""
    exp = exponent(currency)
    cents = "." + "50".ljust(exp, "0") if exp else ""
    decimals = (f"a point before at most {exp} decimals" if exp
                else f"no decimals in {currency}")
    return (f"“{text}” is not an amount in {currency} (write it like 12{cents} or 1,200{cents}: "
            f"{decimals}, commas only between groups of three digits, no other separators)")
