"""The storefront's answer speaks the customer's language: the return's ``locale`` first, then
the order's, then the request's ``Accept-Language``, then ``REFUNDS_DEFAULT_LOCALE``; the ledger
keeps the English it showed, with the message ids beside it (outside the journal). A return's
``locale`` is kept with its decision, so its emails are written in it too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions, events, orders, outbox
from tests.fakes import STOREFRONT_SECRET, Harness, dumps, order_paid, return_requested
from webhooks import signatures

EUR_MUG = [{"id": "l1", "sku": "MUG-1", "name": "Taza", "quantity": 2, "unit_amount": 1250,
            "tags": []}]


def _post(h: Harness, payload: dict[str, Any], **headers: str) -> TestResponse:
    raw = dumps(payload)
    sig = signatures.sign(STOREFRONT_SECRET, raw, int(h.clock.timestamp()))
    return h.client().post("/webhooks/storefront", data=raw, headers={
        "Refunds-Signature": sig, "Content-Type": "application/json", **headers})


def _paid(h: Harness, locale: str | None, order_id: str = "1001") -> TestResponse:
    event = order_paid(order_id, currency="EUR", lines=EUR_MUG, reference=f"pi_{order_id}",
                       shipping=0)
    if locale is not None:
        event["data"]["order"]["locale"] = locale
    return _post(h, event)


def _return(h: Harness, order_id: str = "1001", locale: str | None = None,
            **headers: str) -> dict[str, Any]:
    event = return_requested(f"r-{order_id}", order_id,
                             lines=[{"line_id": "l1", "quantity": 1, "reason": "damaged"}])
    if locale is not None:
        event["data"]["return"]["locale"] = locale
    resp = _post(h, event, **headers)
    assert resp.status_code == 201, resp.json
    assert resp.json is not None
    return resp.json


def test_the_answer_is_in_the_orders_spanish_with_spanish_money_and_the_exact_amount(
    harness: Harness,
) -> None:
    assert _paid(harness, "es-MX").status_code == 200

    answer = _return(harness, **{"Accept-Language": "de-DE,de;q=0.9"})  # the order wins

    assert (answer["outcome"], answer["refund_amount"], answer["currency"]) == (
        "approve", 1250, "EUR")
    assert answer["explanation"] == (
        "Tu devolución de 1 × Taza está aprobada. Vamos a reembolsar 12,50\xa0€ a tu método "
        "de pago original. Por favor, devuelve: Taza. El dinero se enviará en un plazo de 48 "
        "horas.")
    row = harness.rows(decisions)[0]
    assert row.explanation == (  # the ledger keeps the shop's English, as before
        "Your return of 1 × Taza is approved. We will refund 12.50 EUR to your original "
        "payment. Please send back: Taza. The money will be on its way within 48 hours.")
    assert json.loads(row.said)["j"][0] == {
        "m": "Your return of {items} is approved.",
        "p": {"items": {"and": [{"m": "{qty} × {name}", "p": {"qty": 1, "name": "Taza"}}]}}}


def test_without_an_order_locale_the_requests_accept_language_decides(
    harness: Harness,
) -> None:
    _paid(harness, None)

    answer = _return(harness, **{"Accept-Language": "fr-CH, de;q=0.5"})

    assert answer["explanation"].startswith(
        "Votre retour de 1 × Taza est accepté. Nous allons rembourser 12,50\xa0€ sur votre "
        "moyen de paiement d'origine.")


def test_a_language_we_do_not_ship_falls_back_and_is_not_refused(harness: Harness) -> None:
    assert _paid(harness, "tlh").status_code == 200  # Klingon: a valid tag, not shipped

    answer = _return(harness)  # no Accept-Language: the shop's default, English

    assert answer["explanation"].startswith("Your return of 1 × Taza is approved.")
    with harness.runtime.engine.connect() as conn:
        assert conn.execute(select(orders.c.locale)).scalar() == "tlh"


def test_a_malformed_locale_is_refused_and_nothing_is_recorded(harness: Harness) -> None:
    resp = _paid(harness, "not a language!")

    assert resp.status_code == 400
    assert resp.json is not None
    assert "expected a BCP 47 language tag such as de or fr-CH" in json.dumps(resp.json)
    assert harness.rows(orders) == [] and harness.rows(events) == []


def test_the_shops_default_language_answers_a_reader_with_none(
    any_db_url: str, clock: Any, stripe_server: Any,
) -> None:
    h = Harness(any_db_url, clock, stripe_server.url, {"default_locale": "de"})
    try:
        _paid(h, None)
        answer = _return(h)
        assert answer["explanation"].startswith(
            "Ihre Rücksendung von 1 × Taza ist genehmigt. Wir werden 12,50\xa0€ auf Ihre "
            "ursprüngliche Zahlungsart erstatten.")
    finally:
        h.close()


def test_an_english_reader_reads_exactly_what_the_ledger_keeps(harness: Harness) -> None:
    _paid(harness, "en-GB")

    answer = _return(harness, **{"Accept-Language": "es"})

    assert answer["explanation"] == harness.rows(decisions)[0].explanation


def test_the_language_a_return_was_asked_in_comes_before_the_orders_and_is_kept_for_its_mails(
    harness: Harness,
) -> None:
    _paid(harness, "es-MX")

    answer = _return(harness, locale="fr-CA")

    assert answer["explanation"].startswith(
        "Votre retour de 1 × Taza est accepté. Nous allons rembourser 12,50\xa0€ sur votre "
        "moyen de paiement d'origine.")
    assert [row.chosen_locale for row in harness.rows(decisions)] == ["fr"]
    mails = [row for row in harness.rows(outbox) if row.channel == "mail"]
    assert mails and {row.locale for row in mails} == {"fr"}


def test_a_return_in_a_language_we_do_not_ship_is_answered_in_the_orders(
    harness: Harness,
) -> None:
    _paid(harness, "es-MX")

    answer = _return(harness, locale="tlh")

    assert answer["explanation"].startswith("Tu devolución de 1 × Taza está aprobada.")
    assert [row.chosen_locale for row in harness.rows(decisions)] == [None]
    # its mails: the order's language, as the order gave it
    assert {row.locale for row in harness.rows(outbox) if row.channel == "mail"} == {"es-MX"}


@pytest.mark.parametrize("tag", ["not a language!", "de\n"])
def test_a_return_with_a_malformed_locale_is_refused_and_nothing_is_recorded(
    harness: Harness, tag: str,
) -> None:
    _paid(harness, "es-MX")
    before = harness.rows(events)
    event = return_requested("r-1001", "1001")
    event["data"]["return"]["locale"] = tag

    resp = _post(harness, event)

    assert resp.status_code == 400
    assert resp.json is not None
    assert (resp.json["error"]["code"], resp.json["error"]["fields"]) == ("invalid_payload", [
        "data.return.locale: expected a BCP 47 language tag such as de or fr-CH"])
    assert harness.rows(decisions) == [] and harness.rows(events) == before


def test_a_return_sent_again_is_answered_in_the_language_its_emails_are_in(
    harness: Harness,
) -> None:
    """The same return re-sent under other event ids, naming another language or none: each
    answer is in French, the language it was first asked in, as its emails are."""
    _paid(harness, "es-MX")
    assert _return(harness, locale="fr")["duplicate"] is False

    answers = []
    for n, locale in enumerate(("de", None)):
        event = return_requested("r-1001", "1001", event_id=f"evt_again_{n}",
                                 lines=[{"line_id": "l1", "quantity": 1, "reason": "damaged"}])
        if locale is not None:
            event["data"]["return"]["locale"] = locale
        resp = _post(harness, event, **{"Accept-Language": "de"})
        assert resp.status_code == 200 and resp.json is not None
        answers.append(resp.json)

    assert [a["duplicate"] for a in answers] == [True, True]
    assert all(a["explanation"].startswith("Votre retour de 1 × Taza est accepté.")
               for a in answers)
    assert [row.chosen_locale for row in harness.rows(decisions)] == ["fr"]


@pytest.mark.parametrize(("locale", "said"), [
    ("de", "Testlauf: Wir würden 12,50\xa0€ auf Ihre ursprüngliche Zahlungsart erstatten; es "
           "wird kein Geld bewegt."),
    ("es", "Simulación: procederíamos a reembolsar 12,50\xa0€ a tu método de pago original; "
           "no se mueve dinero."),
    ("fr", "Simulation\xa0: il s'agirait de rembourser 12,50\xa0€ sur votre moyen de "
           "paiement d'origine\xa0; aucun argent n'est versé."),
])
def test_a_dry_run_answer_says_in_the_customers_language_that_no_money_moves(
    any_db_url: str, clock: Any, locale: str, said: str,
) -> None:
    h = Harness(any_db_url, clock)  # no Stripe key: dry run
    try:
        assert _paid(h, locale).status_code == 200
        answer = _return(h)
        (row,) = h.rows(decisions)
    finally:
        h.close()
    assert answer["dry_run"] is True
    assert said in answer["explanation"]
    assert "12.50 EUR to your original payment. " in row.explanation  # the ledger's English
