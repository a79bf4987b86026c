"""Text the ledger can store, checked where it comes in so both databases answer alike.

PostgreSQL refuses a NUL character in any text (psycopg cannot even send one) and a string
longer than its ``String(n)`` column, where SQLite keeps both; an id (an order's, a line's, an
event's) with a control character in it is no id anyone typed. ``problem`` says what is wrong
with a value in words the caller puts after the field's name; ``length`` reads a column's limit
from the table definitions, so no limit is written twice.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Column, String

from refunds_plugin.ledger.tables import decisions, events, order_lines, orders, payments

# C0 controls and DEL: nothing an id holds (a name or a comment may hold a tab or a newline)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NUL = "\x00"


def length(column: Column[Any]) -> int:
    """The most characters ``column`` (a ``String(n)``) holds."""
    kind = column.type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{column} has no length limit")
    return int(kind.length)


# the longest text each id may be: its column's length (``String(n)``), read here once
EVENT_ID = length(events.c.event_id)
ORDER_ID = length(orders.c.order_id)
CUSTOMER_ID = length(orders.c.customer_id)
EMAIL = length(orders.c.customer_email)
CHANNEL = length(orders.c.channel)
LINE_ID = length(order_lines.c.line_id)
SKU = length(order_lines.c.sku)
PRODUCT_ID = length(order_lines.c.product_id)
PROVIDER = length(payments.c.provider)
PAYMENT_REFERENCE = length(payments.c.reference)
CHARGE_ID = length(payments.c.charge_id)
DECISION_ID = length(decisions.c.id)
# a return's id is kept as "return:<id>" (``intake.service``), in decisions.request_key
RETURN_ID = length(decisions.c.request_key) - len("return:")


def problem(value: str, limit: int | None = None, *, is_id: bool = False) -> str | None:
    """What makes ``value`` unstorable, or None: a NUL anywhere; in an id (``is_id``) any
    control character; more than ``limit`` characters."""
    if NUL in value:
        return "must not contain a NUL character (\\u0000)"
    if is_id and _CONTROL.search(value):
        return "must not contain control characters (\\u0000-\\u001f, \\u007f)"
    if limit is not None and len(value) > limit:
        return f"is longer than {limit} characters ({len(value)})"
    return None


def readable(value: str) -> str:
    """``value`` without its control characters: to show a refused field again."""
    return _CONTROL.sub("", value)


def escaped(value: str) -> str:
    """``value`` with each NUL written ``\\u0000``: to name a refused key."""
    return value.replace(NUL, "\\u0000")


def nul_at(data: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path (keys and list indexes) of the first string in ``data`` holding a NUL, a key
    included; None when there is none."""
    if isinstance(data, str):
        return path if NUL in data else None
    if isinstance(data, dict):
        for key, value in data.items():
            if NUL in key:
                return (*path, escaped(key))
            found = nul_at(value, (*path, key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = nul_at(value, (*path, str(i)))
            if found is not None:
                return found
    return None
