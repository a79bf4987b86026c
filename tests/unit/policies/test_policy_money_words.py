"""The policy's explanation with big amounts: stored (and hashed) in ``Money``'s own form,
``1234.56 USD``, read grouped by an English reader (``1,234.56 USD``) and as before in German,
French and Spanish; without its promise of when the money leaves, every other sentence stays."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_builders import NOW, ask, order

from policies import evaluate, load_policy
from policies.explanation import as_dry_run, without_promise
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import Amount, Joined, rebuild, render, said, structure


def _big_order(currency: str, unit: int) -> tuple[Any, Any]:
    lamp = OrderLine("lamp", "LAMP-1", "Brass lamp", 1, unit)
    cup = OrderLine("cup", "CUP-1", "Cup", 1, 1000)
    facts = order(lines=(lamp, cup), shipping=0, currency=currency)
    return facts, ask(("lamp", 1, Reason.CHANGED_MIND))


@pytest.mark.parametrize(("currency", "unit", "stored", "read"), [
    ("USD", 123456, "1234.56 USD", "1,234.56 USD"),
    ("JPY", 1500000, "1500000 JPY", "1,500,000 JPY"),
])
def test_the_explanation_is_stored_as_before_and_read_grouped_in_english(
    currency: str, unit: int, stored: str, read: str,
) -> None:
    facts, request = _big_order(currency, unit)
    d = evaluate(load_policy("preset:default"), facts, request, NOW)

    said_before = ("Your return of 1 × Brass lamp is approved. We will refund {} to your "
                   "original payment. Please send back: Brass lamp. The money will be on its "
                   "way within 48 hours.")
    # the ledger's text (hashed in the journal) and its stored ids keep Money's own form
    assert d.explanation == said_before.format(stored)
    kept = json.dumps(structure(d.explanation))  # ``decisions.said``: minor units and code
    assert json.dumps({"$": [unit, currency]}) in kept and read not in kept
    again = rebuild(json.loads(kept))
    assert str(again) == d.explanation
    # an English reader reads it grouped, from the decision or from what was stored
    assert render(d.explanation, "en") == said_before.format(read)
    assert render(again, "en") == said_before.format(read)


def test_the_explanation_in_german_french_and_spanish_is_as_before() -> None:
    facts, request = _big_order("USD", 123456)
    d = evaluate(load_policy("preset:default"), facts, request, NOW)

    assert render(d.explanation, "de") == (
        "Ihre Rücksendung von 1 × Brass lamp ist genehmigt. Wir werden 1.234,56\xa0$ auf Ihre "
        "ursprüngliche Zahlungsart erstatten. Bitte zurücksenden: Brass lamp. Das Geld ist "
        "innerhalb von 48 Stunden unterwegs.")
    assert "1\u202f234,56\xa0$US" in render(d.explanation, "fr")
    assert "1.234,56\xa0US$" in render(d.explanation, "es")


def test_without_its_promise_the_explanation_keeps_every_other_sentence() -> None:
    facts, request = _big_order("USD", 123456)
    d = evaluate(load_policy("preset:default"), facts, request, NOW)
    text = without_promise(d.explanation)

    assert render(text, "en") == (
        "Your return of 1 × Brass lamp is approved. We will refund 1,234.56 USD to your "
        "original payment. Please send back: Brass lamp.")
    assert render(text, "de") == (
        "Ihre Rücksendung von 1 × Brass lamp ist genehmigt. Wir werden 1.234,56\xa0$ auf Ihre "
        "ursprüngliche Zahlungsart erstatten. Bitte zurücksenden: Brass lamp.")
    # the decision itself still says it (the ledger keeps what was said)
    assert d.explanation.endswith("The money will be on its way within 48 hours.")
    # a text stored without its ids loses the promise's English words, and only those
    assert without_promise(str(d.explanation)) == (
        "Your return of 1 × Brass lamp is approved. We will refund 1234.56 USD to your "
        "original payment. Please send back: Brass lamp.")


def test_a_promise_after_money_held_for_the_parcel_is_left_out_too() -> None:
    held = Joined([said("We will refund {amount}.", amount=Amount(123456, "USD")),
                   said("We send the money once your parcel arrives."),
                   said("It will then be on its way within {hours} hours.", hours=48)])

    assert render(without_promise(held), "en") == (
        "We will refund 1,234.56 USD. We send the money once your parcel arrives.")
    assert without_promise(str(held)) == (
        "We will refund 1234.56 USD. We send the money once your parcel arrives.")


def test_a_dry_run_reads_we_would_and_no_money_moves_with_its_ids_or_without() -> None:
    facts, request = _big_order("USD", 123456)
    d = evaluate(load_policy("preset:default"), facts, request, NOW)
    said_en = ("Your return of 1 × Brass lamp is approved. Dry run: we would refund {} to your "
               "original payment; no money moves. Please send back: Brass lamp.")

    assert render(as_dry_run(d.explanation), "en") == said_en.format("1,234.56 USD")
    assert render(as_dry_run(d.explanation), "de") == (
        "Ihre Rücksendung von 1 × Brass lamp ist genehmigt. Testlauf: Wir würden 1.234,56\xa0$ "
        "auf Ihre ursprüngliche Zahlungsart erstatten; es wird kein Geld bewegt. Bitte "
        "zurücksenden: Brass lamp.")
    # a text stored without its ids: the same English words, in the ledger's form
    assert as_dry_run(str(d.explanation)) == said_en.format("1234.56 USD")
    # a review's "if it is approved", store credit, and money held for the parcel alike
    review = Joined([said("If it is approved, we will {what}.", what=said(
        "give you {amount} in store credit", amount=Amount(5000, "EUR")))])
    assert render(as_dry_run(review), "en") == as_dry_run(str(review)) == (
        "Dry run: if it is approved, we would give you 50.00 EUR in store credit; no money "
        "moves.")
    held = Joined([said("We send the money once your parcel arrives."),
                   said("It will then be on its way within {hours} hours.", hours=48)])
    assert render(as_dry_run(held), "en") == "We send the money once your parcel arrives."
