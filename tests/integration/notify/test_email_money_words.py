"""Emails write big amounts as their reader does: ``1,234.56 USD`` and ``1,500,000 JPY`` in
English (subject, figures and the policy's explanation alike), as before in German, French and
Spanish; the ledger, the outbox's context and the merchant's events keep the machine forms.
Where no money moves (the dry run) the explanation promises no time for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions, outbox
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

LINES = {"USD": 123456, "JPY": 1500000}
CUP = {"USD": 1000, "JPY": 1000}


def _order(currency: str) -> dict[str, Any]:
    return order_paid(currency=currency, shipping=0, lines=[
        {"id": "l1", "sku": "LAMP-1", "name": "Brass lamp", "quantity": 1,
         "unit_amount": LINES[currency], "tags": []},
        {"id": "l2", "sku": "CUP-1", "name": "Cup", "quantity": 1, "unit_amount": CUP[currency],
         "tags": []}])


def _context(row: Any) -> dict[str, Any]:
    found = row.context
    return dict(json.loads(found) if isinstance(found, str) else found)


def _return_the_lamp(h: Harness, currency: str, locale: str | None = None) -> dict[str, Any]:
    event = _order(currency)
    if locale is not None:
        event["data"]["order"]["locale"] = locale
    assert h.post_storefront(event).status_code == 200
    resp = h.post_storefront(return_requested(lines=[
        {"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    h.drain()
    answer = resp.get_json()
    assert isinstance(answer, dict)
    return answer


EXPLAINED = ("Your return of 1 × Brass lamp is approved. We will refund {} to your original "
             "payment. Please send back: Brass lamp.")
PROMISE = " The money will be on its way within 48 hours."
# the same in dry run: no money moves, and the answer and emails say so
DRY_RUN = ("Your return of 1 × Brass lamp is approved. Dry run: we would refund {} to your "
           "original payment; no money moves. Please send back: Brass lamp.")


@pytest.mark.parametrize(("currency", "read", "stored"), [
    ("USD", "1,234.56 USD", "1234.56 USD"), ("JPY", "1,500,000 JPY", "1500000 JPY")])
def test_an_english_customer_reads_big_amounts_grouped_in_every_email(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
    currency: str, read: str, stored: str,
) -> None:
    fake_stripe.add_payment_intent(LINES[currency] + CUP[currency], currency.lower(), "pi_123")

    answer = _return_the_lamp(mail_shop, currency)

    # the storefront's answer: its figures in minor units, its words as the customer reads them
    assert (answer["amount"], answer["currency"], answer["dry_run"]) == (
        LINES[currency], currency, False)
    assert answer["explanation"] == EXPLAINED.format(read) + PROMISE
    received, approved, sent = smtp.received
    assert f"- 1 × Brass lamp: {read}" in received.part("plain")
    assert (EXPLAINED.format(read) + PROMISE) in approved.part("plain")
    assert f"<p>{EXPLAINED.format(read)}{PROMISE}</p>" in approved.part("html")
    assert sent.subject == f"Your refund of {read} for order 1001 is on its way"
    assert f"We sent {read} back to your original payment." in sent.part("plain")
    assert stored not in approved.part("plain") + sent.part("plain") + sent.part("html")
    # the ledger and the merchant's event keep the stored English and the minor units
    (row,) = mail_shop.rows(decisions)
    assert row.explanation == EXPLAINED.format(stored) + PROMISE
    (event,) = mail_shop.rows(outbox, kind="return.decided")
    assert _context(event)["explanation"] == EXPLAINED.format(stored) + PROMISE
    assert _context(event)["amount"] == LINES[currency] and "test_mode" not in _context(event)


@pytest.mark.parametrize(("locale", "subject", "sentence"), [
    # a subject is one line of plain spaces, as before
    ("de-DE", "Ihre Erstattung von 1.234,56 $ zu Bestellung 1001 ist unterwegs",
     "Wir werden 1.234,56\xa0$ auf Ihre ursprüngliche Zahlungsart erstatten."),
    ("fr-FR", "Votre remboursement de 1 234,56 $US pour la commande 1001 est en route",
     "Nous allons rembourser 1\u202f234,56\xa0$US sur votre moyen de paiement d'origine."),
    ("es-ES", "Tu reembolso de 1.234,56 US$ del pedido 1001 está en camino",
     "Vamos a reembolsar 1.234,56\xa0US$ a tu método de pago original."),
])
def test_german_french_and_spanish_emails_write_the_amounts_as_before(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
    locale: str, subject: str, sentence: str,
) -> None:
    fake_stripe.add_payment_intent(124456, "usd", "pi_123")

    _return_the_lamp(mail_shop, "USD", locale)

    _received, approved, sent = smtp.received
    assert sentence in approved.part("plain")
    assert sent.subject == subject
    assert "1,234.56" not in approved.part("plain") + sent.part("plain")


def test_a_dry_run_email_and_answer_promise_no_time_for_money_that_never_moves(
    mail_shop_with: Callable[..., Harness], smtp: SmtpSink,
) -> None:
    h = mail_shop_with(stripe_api_key="")  # no Stripe key: every refund goes to the dry run

    answer = _return_the_lamp(h, "USD")

    assert answer["dry_run"] is True
    assert answer["explanation"] == DRY_RUN.format("1,234.56 USD")
    received, approved = smtp.received  # no money moved: no "refund sent"
    assert approved.subject == "Your return for order 1001 is approved"
    # the pages' test-mode banner first, then the explanation: "we would", and no promise
    assert approved.part("plain").startswith(
        "This shop is in test mode: no money moves.\n\n" + DRY_RUN.format("1,234.56 USD") + "\n")
    assert f"<p>{DRY_RUN.format('1,234.56 USD')}</p>" in approved.part("html")
    assert "on its way" not in approved.part("plain") + approved.part("html")
    assert "We will" not in approved.part("plain") + approved.part("html")
    # the ledger keeps what the policy said; the merchant's event says it as stored
    (row,) = h.rows(decisions)
    assert row.explanation == EXPLAINED.format("1234.56 USD") + PROMISE
    (event,) = h.rows(outbox, kind="return.decided")
    assert _context(event)["explanation"] == row.explanation
    assert "test_mode" not in _context(event)
    (mail,) = h.rows(outbox, kind="approved")
    assert _context(mail)["test_mode"] is True
