"""What the customer was told about a decision, for a finance reader: in the language the
customer read it (the order's, as the returns pages and the storefront's answer pick it), named,
with the English beside it when the two differ."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from babel import Locale

from policies.explanation import as_dry_run
from refunds_plugin.finance.moved import decided_without_money
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
    customer read it: in test mode "we would" and without the promise of when the money
    arrives, as their answer and emails said it (``as_dry_run``)."""
    value = _as_told(explanation, said, test_mode)
    lang = pick(order_locale, default=default_locale)
    return Told(lang, render(value, lang), render(value, "en"), normalise(order_locale) is None)


def _as_told(explanation: str, said: str | None, test_mode: bool) -> str:
    value = as_stored(explanation, said)
    return as_dry_run(value) if test_mode else value


# the stored facts of a decision made while no money could move (``service.decided_on``), in
# the ledger's canonical JSON or edited by hand: only those are parsed, so a large export parses few
_NO_CHARGE = re.compile(r'"can_charge"\s*:\s*false')


def _facts(stored: str | None) -> dict[str, Any]:
    """The facts ``moved.decided_without_money`` reads; {} for those that cannot be read, as
    the decision page reads them (``detail.Reader``)."""
    if not stored or not _NO_CHARGE.search(stored):
        return {}
    try:
        value = json.loads(stored)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def decided_in_test_mode(facts: str | None) -> bool:
    """Whether a decision with no attempts yet (a review) was decided while no money could
    move (its stored facts, ``can_charge`` false): its answer then said "we would"."""
    return decided_without_money(_facts(facts), []) is not None


def exported(dec: Any, providers: Iterable[str]) -> str:
    """A ``decisions`` row's explanation as the decision lists and exports carry it
    (``/api/decisions`` and its CSV, ``ledger export``, ``ledger list``), given its attempts'
    providers. A decision made while no money could move (``moved.decided_without_money``, the
    decision page's test) reads without the promise of when the money arrives, as the page's
    "What the customer was told" and the customer's answer; any other as stored, unchanged.
    Its money stays in the ledger's form (``1234.50 EUR``), as in every export."""
    attempts = [{"provider": p} for p in providers]
    if decided_without_money(_facts(dec.facts), attempts) is None:
        return str(dec.explanation)
    return str(_as_told(dec.explanation, dec.said, test_mode=True))
