"""Who may look an order up: per-address limits for everyone, per-order limits on wrong emails.

Every look-up counts against the client's address (``RETURNS_LOOKUP_LIMIT_IP``, applied by the
Flask-Limiter decorator). Only failed look-ups (a wrong email, or an order number we do not
know: the two must look alike) count against the order number
(``RETURNS_LOOKUP_LIMIT_ORDER``), and against that order number from that address.

Once an order number is over its failure limit, a wrong email is answered 429, and so is the
right email from an address that itself failed on this order in the window; the right email from
an address that has not failed there goes through. So strangers guessing cannot lock out the
customer, while a guesser who got locked out cannot keep guessing from the same address. What
this gives up: a guesser with many addresses gets one more try per fresh address once the order
is locked (each also bounded by the per-address limit); the email is not an enumerable secret
(20 tries an hour per address against an address space, not a PIN), so we accept that.

A refusal says how long to wait for the limit that refused it (``order_wait``, ``address_wait``):
the page's words and its ``Retry-After`` give the same figure.
"""

from __future__ import annotations

import math
import time

import limits
from flask_limiter import Limiter

FAILS = "returns-lookup-fail"  # per order number
FAILS_HERE = "returns-lookup-fail-ip"  # per order number and address


def _rate(setting: str) -> limits.RateLimitItem:
    return limits.parse(setting)


def refused(limiter: Limiter, setting: str, order: str, ip: str, matched: bool) -> bool:
    """Whether this look-up is refused (429) by the order's failure count; asked after the
    email was compared, so the comparison costs the same either way."""
    rate = _rate(setting)
    strategy = limiter.limiter
    if strategy.test(rate, FAILS, order):
        return False  # not locked
    if not matched:
        return True
    _, left = strategy.get_window_stats(rate, FAILS_HERE, order, ip)
    return left < rate.amount  # this address failed here: it is one of the guessers


def failed(limiter: Limiter, setting: str, order: str, ip: str) -> None:
    rate = _rate(setting)
    limiter.limiter.hit(rate, FAILS, order)
    limiter.limiter.hit(rate, FAILS_HERE, order, ip)


def order_wait(limiter: Limiter, setting: str, order: str, _ip: str = "") -> int:
    """Seconds until the order's failure window ends and it is no longer locked."""
    reset, _ = limiter.limiter.get_window_stats(_rate(setting), FAILS, order)
    return max(1, math.ceil(reset - time.time()))


def address_wait(limiter: Limiter) -> int:
    """Seconds until the per-address limit that refused this request lets it in again (a
    minute if no limit of Flask-Limiter's refused it)."""
    refused_by = limiter.current_limit
    return max(1, math.ceil(refused_by.window[0] - time.time())) if refused_by else 60
