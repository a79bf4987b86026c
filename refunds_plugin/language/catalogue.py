"""The compiled catalogues, and money, dates and lists as each language writes them (Babel).

Used outside a request too (the mail courier, the storefront's answer), so this reads the
``.mo`` files itself rather than through Flask-Babel; both read the same files.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time
from decimal import Decimal

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent
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
    """Exact money for a reader: ``123456, "EUR"`` is ``1,234.56 EUR`` in English (``english``),
    ``1.234,56 €`` in German and Spanish, ``1 234,56 €`` in French (Babel's forms); never
    rounded."""
    code = normalise(locale) or "en"
    if code == "en":
        return english(minor, currency)
    amount = Decimal(int(minor)).scaleb(-exponent(currency))
    return format_currency(amount, currency, locale=code, decimal_quantization=False)


def percent(value: Decimal | int | str, locale: str | None) -> str:
    """A percentage (``12.5`` for 12.5 %) as the reader writes it: ``12.5%`` in English (the
    policy's own figure), ``12,5 %`` in German, French and Spanish, where a point is no
    decimal sign and the sign follows a space that does not break (Babel's forms); never
    rounded."""
    code = normalise(locale) or "en"
    if code == "en":
        return f"{value}%"
    return format_percent(Decimal(value).scaleb(-2), locale=code, decimal_quantization=False)


def number(value: Decimal | int | str, locale: str | None) -> str:
    """A plain figure as the reader writes it (``12.5``; ``12,5`` in German), never rounded."""
    code = normalise(locale) or "en"
    if code == "en":
        return str(value)
    return format_decimal(Decimal(value), locale=code, decimal_quantization=False)


def english(minor: int, currency: str, *, code: bool = True) -> str:
    """Money as an English reader reads it: the ledger's form (amount, then the ISO code, with
    exactly the currency's decimals) with its thousands grouped: ``1,234.56 USD``,
    ``1,500,000 JPY``, ``-1,234.56 USD``. Only for people: exports, API fields, the ledger and
    providers keep ``Money``'s own ``1234.56 USD`` and ``decimal_string``. ``code=False``: the
    figure alone (``1,234.56``), where the currency is named beside it (a chart's bars)."""
    exact = Money(int(minor), currency)
    text = exact.decimal_string()
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, cents = digits.partition(".")
    figure = f"{sign}{int(whole):,}{dot}{cents}"
    return f"{figure} {exact.currency}" if code else figure


def day(value: date | None, locale: str | None) -> str:
    """A date as the reader writes it: ``5 December 2026``, ``5. Dezember 2026``,
    ``5 décembre 2026``, ``5 de diciembre de 2026``."""
    if value is None:
        return ""
    code = normalise(locale) or "en"
    if code == "en":
        return format_date(value, "d MMMM y", locale="en")
    return format_date(value, "long", locale=code)


_DAY_ENDS = time(23, 59, 59, 999999)


def deadline(value: datetime | None, locale: str | None) -> str:
    """A deadline's last open moment as the reader writes it, in UTC: the day alone when it
    ends with the day (``5 December 2026``), else the day and the minute it ends
    (``5 December 2026, 09:59 UTC``, ``5. Dezember 2026, 09:59 Uhr UTC``), so nobody told a
    day comes back that afternoon to a refusal. A naive time is taken as UTC, as stored."""
    if value is None:
        return ""
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if moment.time() == _DAY_ENDS:
        return day(moment.date(), locale)
    return minute(moment, locale)


def minute(value: datetime, locale: str | None, *, seconds: bool = False) -> str:
    """A moment's day and minute as the reader writes them, in UTC (``5 December 2026, 09:59
    UTC``, ``5. Dezember 2026, 09:59 Uhr UTC``); ``seconds``: to the second (``09:59:07``), as
    a withdrawal's time of receipt is given. A naive time is taken as UTC, as stored."""
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    code = normalise(locale) or "en"
    clock = format_time(moment, "HH:mm:ss" if seconds else "HH:mm", tzinfo=UTC, locale=code)
    return translations(code).gettext("{date}, {time} UTC").format(
        date=day(moment.date(), code), time=clock)


def listed(items: list[str], locale: str | None) -> str:
    """``a, b and c`` in the reader's language (English: without the serial comma)."""
    code = normalise(locale) or "en"
    if code == "en" or len(items) <= 1:
        return "".join(items) if len(items) <= 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return format_list(items, locale=code)
