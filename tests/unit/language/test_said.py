"""Sentences that remember their message ids: stored as JSON, read back as the same English,
said again in a reader's language with that language's money, dates and lists."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.kinds import Outcome
from refunds_plugin.language import catalogue
from refunds_plugin.language.said import (
    Amount,
    Joined,
    Listed,
    rebuild,
    render,
    said,
    structure,
    structured,
)
from refunds_plugin.ledger.decisions import with_said


def _sentences() -> Joined:
    items = Listed([said("{qty} × {name}", qty=2, name="Mug"),
                    said("{qty} × {name}", qty=1, name="Vase")])
    return Joined([said("Your return of {items} is approved.", items=items),
                   said("We will {what}.", what=said(
                       "refund {amount} to your original payment", amount=Amount(1250, "EUR"))),
                   "Merchant-written words stay as written."])


def test_the_english_text_is_the_plain_sentence_and_survives_storage() -> None:
    text = _sentences()
    english = ("Your return of 2 × Mug and 1 × Vase is approved. We will refund 12.50 EUR to "
               "your original payment. Merchant-written words stay as written.")

    again = rebuild(json.loads(json.dumps(structure(text))))

    assert text == english and again == english and str(again) == english
    assert structured(again) and structure(again) == structure(text)


@pytest.mark.parametrize(("locale", "expected"), [
    ("de", "Ihre Rücksendung von 2 × Mug und 1 × Vase ist genehmigt. Wir werden 12,50\xa0€ auf "
           "Ihre ursprüngliche Zahlungsart erstatten. Merchant-written words stay as written."),
    ("fr", "Votre retour de 2 × Mug et 1 × Vase est accepté. Nous allons rembourser 12,50\xa0€ "
           "sur votre moyen de paiement d'origine. Merchant-written words stay as written."),
    ("es", "Tu devolución de 2 × Mug y 1 × Vase está aprobada. Vamos a reembolsar 12,50\xa0€ a "
           "tu método de pago original. Merchant-written words stay as written."),
])
def test_each_reader_reads_it_in_their_language(locale: str, expected: str) -> None:
    assert render(_sentences(), locale) == expected


def test_english_and_plain_text_read_exactly_as_stored() -> None:
    assert render(_sentences(), "en") == str(_sentences())
    assert render("An old decision's words.", "de") == "An old decision's words."


@pytest.mark.parametrize(("minor", "currency", "locale", "expected"), [
    (1250, "EUR", "en", "12.50 EUR"),
    (1250, "EUR", "de", "12,50\xa0€"),
    (1250, "EUR", "fr", "12,50\xa0€"),
    (1250, "EUR", "es", "12,50\xa0€"),
    (123456789, "USD", "de", "1.234.567,89\xa0$"),
    (12345, "KWD", "fr", "12,345\xa0KWD"),  # three decimals, none lost
    (1000, "JPY", "es", "1.000\xa0JPY"),
    (1, "EUR", "de", "0,01\xa0€"),
])
def test_money_is_exact_in_every_language(minor: int, currency: str, locale: str,
                                          expected: str) -> None:
    assert catalogue.money(minor, currency, locale) == expected


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "5 December 2026"), ("de", "5. Dezember 2026"), ("fr", "5 décembre 2026"),
    ("es", "5 de diciembre de 2026")])
def test_dates_are_written_as_each_reader_writes_them(locale: str, expected: str) -> None:
    assert catalogue.day(date(2026, 12, 5), locale) == expected


def _decision(explanation: str) -> Decision:
    return Decision(outcome=Outcome.APPROVE, reason_code="approved", explanation=explanation,
                    currency="EUR", policy_name="p", policy_hash="h")


def test_an_old_decision_without_message_ids_keeps_its_stored_text() -> None:
    old = _decision("Your return of 1 × Mug is approved.")

    assert with_said(old, None) is old
    assert render(with_said(old, None).explanation, "de") == "Your return of 1 × Mug is approved."


def test_message_ids_that_do_not_say_the_stored_text_are_not_used() -> None:
    recorded = _decision("Your return of 1 × Mug is approved (edited by hand).")
    stored = json.dumps(structure(said("Your return of {items} is approved.", items="1 × Mug")))

    assert with_said(recorded, stored) is recorded
    matching = replace(recorded, explanation="Your return of 1 × Mug is approved.")
    assert render(with_said(matching, stored).explanation, "fr") == (
        "Votre retour de 1 × Mug est accepté.")
