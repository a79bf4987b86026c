"""The compiled catalogues, and money, dates and lists as each language writes them (Babel).

Used outside a request too (the mail courier, the storefront's answer), so this reads the
``.mo`` files itself rather than through Flask-Babel; both read the same files.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from refunds_plugin.language import TRANSLATIONS, normalise
from refunds_plugin.money import Money, exponent


@functools.cache
def translations(locale: str | None) -> NullTranslations:
    """The catalogue for ``locale`` (English, or an unknown language: the source text)."""
    code = normalise(locale)
    if code is None or code == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [code])


def gettext(locale: str | None, msgid: str) -> str:
    return translations(locale).gettext(msgid)


def money(minor: int, currency: str, locale: str | None) -> str:
    """Exact money for a reader: ``1250, "EUR"`` is ``12.50 EUR`` in English (the ledger's own
    form), ``12,50 €`` in German and French, ``12,50 €`` in Spanish; never rounded."""
    code = normalise(locale) or "en"
    if code == "en":
        return str(Money(int(minor), currency))
    amount = Decimal(int(minor)).scaleb(-exponent(currency))
    return format_currency(amount, currency, locale=code, decimal_quantization=False)


def day(value: date | None, locale: str | None) -> str:
    """A date as the reader writes it: ``5 December 2026``, ``5. Dezember 2026``,
    ``5 décembre 2026``, ``5 de diciembre de 2026``."""
    if value is None:
        return ""
    code = normalise(locale) or "en"
    if code == "en":
        return format_date(value, "d MMMM y", locale="en")
    return format_date(value, "long", locale=code)


def listed(items: list[str], locale: str | None) -> str:
    """``a, b and c`` in the reader's language (English: without the serial comma)."""
    code = normalise(locale) or "en"
    if code == "en" or len(items) <= 1:
        return "".join(items) if len(items) <= 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return format_list(items, locale=code)
