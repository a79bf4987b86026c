"""What the customer was told about a decision, for a finance reader: in the language the
customer read it (the order's, as the returns pages and the storefront's answer pick it), named,
with the English beside it when the two differ."""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale

from policies.explanation import without_promise
from refunds_plugin.language import normalise, pick
from refunds_plugin.language.said import as_stored, render


@dataclass(frozen=True)
class Told:
    locale: str  # the customer's language: ``de``
    text: str  # the explanation in it
    english: str  # the same in English, for the finance reader
    guessed: bool  # the order named no language: the shop's default is shown

    @property
    def language(self) -> str:
        """The language's English name: ``German``."""
        return str(Locale.parse(self.locale).get_language_name("en"))

    @property
    def differs(self) -> bool:
        return self.text != self.english


def told_customer(explanation: str, said: str | None, order_locale: str | None, default_locale: str,
         *, test_mode: bool = False) -> Told:
    """``explanation`` (``decisions.explanation``, with its ids ``decisions.said``) as the
    customer read it: in test mode without the promise of when the money arrives, as their
    answer and emails left it out."""
    value = as_stored(explanation, said)
    if test_mode:
        value = without_promise(value)
    lang = pick(order_locale, default=default_locale)
    return Told(lang, render(value, lang), render(value, "en"), normalise(order_locale) is None)
