"""Amounts in major units for a spreadsheet: exact from the integers, a number and not text
(so the formula guard leaves a negative one alone), an empty cell for no amount."""

from __future__ import annotations

import io
from decimal import Decimal

from refunds_plugin.finance import amounts, spreadsheet


def test_each_currency_gets_exactly_its_decimals() -> None:
    assert [str(amounts.major(m, c)) for m, c in [
        (2005, "USD"), (20005, "KWD"), (12000, "JPY"), (5, "KWD"), (0, "EUR"), (-2005, "USD"),
        (123_456_789_012_345_678, "EUR"),
    ]] == ["20.05", "20.005", "12000", "0.005", "0.00", "-20.05", "1234567890123456.78"]
    assert amounts.major(None, "USD") is None


def test_a_negative_amount_is_written_as_a_number_while_formula_text_is_still_quoted() -> None:
    out = io.StringIO()
    writer = spreadsheet.DictWriter(out, fieldnames=["note", "currency", "kept", "due",
                                                     "kept_decimal", "due_decimal"])
    writer.writerow(amounts.with_major({"note": "-1+2", "currency": "USD", "kept": -2005,
                                        "due": None}, ("kept", "due")))
    assert out.getvalue() == "'-1+2,USD,-2005,,-20.05,\r\n"
    assert isinstance(amounts.major(-2005, "USD"), Decimal)


def test_the_new_columns_come_after_the_existing_ones() -> None:
    assert amounts.columns(["id", "amount", "currency"], ("amount",)) == [
        "id", "amount", "currency", "amount_decimal"]


def test_a_row_of_no_currency_yet_has_empty_major_cells_not_a_guess() -> None:
    # a withdrawal not decided yet: 0 of no currency, neither 0.00 nor a 500
    assert amounts.with_major({"currency": None, "amount": 0, "refunded": 0},
                              ("amount", "refunded")) == {
        "currency": None, "amount": 0, "refunded": 0,
        "amount_decimal": None, "refunded_decimal": None}
