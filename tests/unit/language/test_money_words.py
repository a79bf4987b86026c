"""Money as a person reads it: English groups its thousands (``1,234.56 USD``), German, French
and Spanish write it as before; the ledger's English and every machine form keep ``Money``'s
own ``1234.56 USD``."""

from __future__ import annotations

import pytest

from refunds_plugin.language import catalogue
from refunds_plugin.language.said import Amount, Joined, render, said
from refunds_plugin.money import Money


@pytest.mark.parametrize(("minor", "currency", "words"), [
    (123456, "USD", "1,234.56 USD"), (1500000, "JPY", "1,500,000 JPY"),
    (-123456, "USD", "-1,234.56 USD"), (123456789, "USD", "1,234,567.89 USD"),
    (1234567, "KWD", "1,234.567 KWD"), (99999, "USD", "999.99 USD"), (5, "USD", "0.05 USD"),
    (-5, "EUR", "-0.05 EUR"), (0, "JPY", "0 JPY"), (100000, "eur", "1,000.00 EUR"),
])
def test_english_money_groups_its_thousands_and_is_never_rounded(
    minor: int, currency: str, words: str,
) -> None:
    assert catalogue.money(minor, currency, "en") == words
    assert catalogue.money(minor, currency, "en-GB") == words
    assert catalogue.money(minor, currency, None) == words  # no language: English
    # the machine forms are as they were
    assert str(Money(minor, currency)) == f"{Money(minor, currency).decimal_string()} " \
        f"{currency.upper()}"
    assert "," not in str(Money(minor, currency))


def test_the_figure_alone_for_a_chart() -> None:
    assert catalogue.english(123456, "USD", code=False) == "1,234.56"
    assert catalogue.english(-1500000, "JPY", code=False) == "-1,500,000"


@pytest.mark.parametrize(("locale", "usd", "jpy"), [
    ("de", "1.234,56\xa0$", "1.500.000\xa0¥"),
    ("fr", "1\u202f234,56\xa0$US", "1\u202f500\u202f000\xa0JPY"),
    ("es", "1.234,56\xa0US$", "1.500.000\xa0JPY"),
])
def test_german_french_and_spanish_money_is_written_as_before(
    locale: str, usd: str, jpy: str,
) -> None:
    assert catalogue.money(123456, "USD", locale) == usd
    assert catalogue.money(1500000, "JPY", locale) == jpy


def test_text_stored_without_its_ids_reads_as_stored_in_english() -> None:
    stored = "We will refund 1234.56 USD to your original payment."
    assert render(stored, "en") == stored
    assert render(stored, "de") == stored


def test_a_message_without_fields_reads_as_written_in_every_language() -> None:
    plain = said("No abuse checks in this policy.")
    assert render(plain, "en") == "No abuse checks in this policy."
    assert render(Joined([plain, said("{amount} left", amount=Amount(100000, "USD"))]),
                  "en") == "No abuse checks in this policy. 1,000.00 USD left"
