"""Amounts a spreadsheet reads as numbers: beside each integer minor-units column of a CSV, the
same amount in major units with exactly its currency's decimals (USD 2005 is ``20.05``, KWD
20005 ``20.005``, JPY 12000 ``12000``), in a column named ``<column>_decimal``.

Built from the integer (``Money.decimal_string``), never through a float. The cell is a
``Decimal``, not text, so the CSV writer's formula guard (``spreadsheet.safe_cell``) leaves a
negative amount as the number ``-20.05`` rather than quoting it as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from refunds_plugin.money import Money

SUFFIX = "_decimal"


def major(minor: int | None, currency: str) -> Decimal | None:
    """``minor`` units of ``currency`` in major units, exactly; None (an empty cell) for None."""
    if minor is None:
        return None
    return Decimal(Money(int(minor), currency).decimal_string())


def columns(base: Sequence[str], money: Iterable[str]) -> list[str]:
    """``base`` as it was, then one ``<column>_decimal`` for each money column, in that order:
    the existing columns keep their names and positions."""
    return [*base, *(name + SUFFIX for name in money)]


def with_major(row: Mapping[str, Any], money: Iterable[str]) -> dict[str, Any]:
    """``row`` with each money column also in major units of the row's ``currency``; empty
    cells for a row with no currency yet (a withdrawal not decided: its ``amount`` is 0 of
    no currency, not 0.00 of one)."""
    money = tuple(money)
    if not money:  # a listing without amounts (the outbox) has no currency either
        return dict(row)
    cur = row["currency"]
    return {**row, **{name + SUFFIX: major(row.get(name), cur) if cur else None
                      for name in money}}
