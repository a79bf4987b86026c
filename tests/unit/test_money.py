"""Money: integer minor units of an ISO 4217 currency, exact at the edges, Stripe's rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refunds_plugin.money import (
    THREE_DECIMAL,
    ZERO_DECIMAL,
    AmountError,
    CurrencyError,
    Money,
    exponent,
    refund_increment,
    stripe_amount,
    sum_money,
    written,
)


def test_the_exponent_table_matches_stripes_zero_and_three_decimal_lists() -> None:
    assert sorted(ZERO_DECIMAL) == ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
                                    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
    assert sorted(THREE_DECIMAL) == ["BHD", "JOD", "KWD", "OMR", "TND"]
    assert [exponent(c) for c in ("JPY", "KWD", "USD", "eur")] == [0, 3, 2, 2]


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("12.50", "USD", 1250), ("12.5", "USD", 1250), ("500", "JPY", 500), ("5.124", "KWD", 5124),
    ("0.001", "BHD", 1), ("-3.00", "EUR", -300), (Decimal("7.25"), "GBP", 725), (3, "USD", 300),
])
def test_decimal_strings_parse_exactly_into_minor_units(
    text: str | Decimal | int, currency: str, minor: int
) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(("text", "currency", "message"), [
    ("12.345", "USD", "12.345 has more decimals than USD allows (2)"),
    ("1.5", "JPY", "1.5 has more decimals than JPY allows (0)"),
    ("1e3", "USD", "not a decimal amount: '1e3'"),
    ("twelve", "USD", "not a decimal amount: 'twelve'"),
    (True, "USD", "not an amount: True"),
])
def test_amounts_with_more_precision_than_the_currency_are_refused(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(AmountError) as caught:
        Money.parse(text, currency)
    assert str(caught.value) == message


def test_floats_and_unknown_currencies_are_never_money() -> None:
    with pytest.raises(AmountError):
        Money(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        Money(True, "USD")
    with pytest.raises(CurrencyError, match="unknown currency 'XYZ'"):
        Money(1, "XYZ")
    with pytest.raises(CurrencyError):
        Money(1, 840)  # type: ignore[arg-type]


@pytest.mark.parametrize(("minor", "currency", "shown"), [
    (1250, "USD", "12.50 USD"), (5, "USD", "0.05 USD"), (500, "JPY", "500 JPY"),
    (5124, "KWD", "5.124 KWD"), (-300, "EUR", "-3.00 EUR"), (7, "BHD", "0.007 BHD"),
])
def test_money_formats_with_exactly_its_currencys_decimals(
    minor: int, currency: str, shown: str
) -> None:
    assert str(Money(minor, currency)) == shown
    assert Money.parse(shown.split()[0], currency) == Money(minor, currency)


def test_arithmetic_stays_in_one_currency() -> None:
    assert Money(250, "USD") + Money(100, "USD") == Money(350, "USD")
    assert Money(250, "USD") - Money(300, "USD") == Money(-50, "USD")
    assert Money(250, "USD").times(3) == Money(750, "USD")
    assert Money(1000, "USD").percent(10) == Money(100, "USD")
    assert Money(25, "USD").percent("50") == Money(12, "USD")  # half-even: 12.5 → 12
    assert Money(35, "USD").percent("50") == Money(18, "USD")  # 17.5 → 18
    assert Money(3, "USD").min(Money(2, "USD")) == Money(2, "USD")
    assert sum_money([Money(1, "JPY"), Money(2, "JPY")], "JPY") == Money(3, "JPY")
    with pytest.raises(CurrencyError, match="currency mismatch: USD and EUR"):
        _ = Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(CurrencyError):
        _ = Money(1, "USD") < Money(1, "EUR")


@pytest.mark.parametrize(("minor", "currency", "sent"), [
    (12345, "KWD", 12340), (12340, "KWD", 12340), (9, "BHD", 0), (5129, "OMR", 5120),
    (1500, "JPY", 1500), (1999, "USD", 1999),
])
def test_stripe_gets_three_decimal_amounts_rounded_down_to_a_multiple_of_ten(
    minor: int, currency: str, sent: int
) -> None:
    assert stripe_amount(Money(minor, currency)) == sent


@pytest.mark.parametrize(("provider", "currency", "step"), [
    ("stripe", "KWD", 10), ("stripe", "BHD", 10), ("stripe", "JOD", 10), ("stripe", "OMR", 10),
    ("stripe", "tnd", 10), ("stripe", "USD", 1), ("stripe", "JPY", 1), ("saleor", "KWD", 1),
    ("dryrun", "BHD", 1), ("storefront", "USD", 1),
])
def test_refund_increment_is_stripes_step_of_ten_only_for_three_decimal_currencies(
    provider: str, currency: str, step: int
) -> None:
    assert refund_increment(provider, currency) == step


def test_notes_write_money_as_a_person_reads_it_never_as_bare_minor_units() -> None:
    assert [written(5000, "USD"), written(0, "usd"), written(500, "JPY"),
            written(20005, "KWD")] == ["50.00 USD", "0.00 USD", "500 JPY", "20.005 KWD"]
    # a provider's payload with no currency we know keeps its figure, named for what it is
    assert written(5000, "XXY") == "5000 XXY (minor units)"
