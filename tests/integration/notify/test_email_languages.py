"""Emails in the order's language: subject, words, money and the decision's explanation said
again from its message ids, through a real SMTP server; an order without a language gets the
shop's default."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import decisions, outbox
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe


def _paid(h: Harness, fake: FakeStripe, locale: str | None) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    event = order_paid()
    if locale is not None:
        event["data"]["order"]["locale"] = locale
    assert h.post_storefront(event).status_code == 200


def test_an_order_placed_in_french_gets_its_emails_in_french(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, "fr-FR")

    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()

    assert [m.subject for m in smtp.received] == [
        "Nous avons reçu votre demande de retour pour la commande 1001",
        "Votre retour pour la commande 1001 est accepté",
        "Votre remboursement de 25,00 $US pour la commande 1001 est en route",  # one line
    ]
    assert {r.locale for r in h.rows(outbox) if r.channel == "mail"} == {"fr-FR"}
    received, approved, sent = smtp.received
    assert "- 1 × Mug\xa0: 25,00\xa0$US" in received.part("plain")  # a French colon
    assert ("Votre retour de 1 × Mug est accepté. Nous allons rembourser 25,00\xa0$US sur votre "
            "moyen de paiement d'origine.") in approved.part("plain")
    assert "renvoyer l'article" not in approved.part("plain")  # the explanation says what
    assert "Nous avons renvoyé 25,00\xa0$US sur votre moyen de paiement d'origine." in sent.part(
        "plain")
    assert "25,00\xa0$US" in sent.part("html")
    # the ledger still holds the English the shop showed
    assert h.rows(decisions)[0].explanation.startswith("Your return of 1 × Mug is approved.")


def test_an_order_without_a_language_gets_the_shops_default(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop_with(default_locale="es")
    _paid(h, fake_stripe, None)

    h.post_storefront(return_requested())
    h.drain()

    assert smtp.received[1].subject == "Tu devolución del pedido 1001 está aprobada"
    assert "Vamos a reembolsar 25,00\xa0US$ a tu método de pago original." in smtp.received[
        1].part("plain")


def test_a_decision_whose_explanation_ids_cannot_be_read_is_told_in_its_stored_english(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = mail_shop
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    event = order_paid(paid_at="2025-01-01T10:00:00Z")  # far outside the window: a review
    event["data"]["order"]["locale"] = "fr-FR"
    assert h.post_storefront(event).status_code == 200
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "review"
    decision_id = answer["decision_id"]
    h.drain()
    with h.runtime.engine.begin() as conn:  # a restore cut the explanation's ids short
        conn.execute(update(decisions).where(decisions.c.id == decision_id)
                     .values(said='{"j": [{"m": "Your return'))
    before = len(smtp.received)

    clock.advance(86_400)
    reviews.decide(h.runtime.engine, h.runtime.service, decision_id, approve=False, by="Ada",
                   note="past the window", now=clock.now)
    h.drain()

    # the decline goes, in French, all of it: a person's decline says so in the reader's words
    # rather than the review-time explanation ("If it is approved, we will refund …", which
    # this mail used to repeat, here in the ledger's English), so the unreadable ids cost it
    # nothing (test_review_declined_mail.py)
    [declined] = smtp.received[before:]
    assert declined.subject == "À propos de votre retour pour la commande 1001"
    assert declined.part("plain").startswith(
        "Notre équipe a examiné votre retour et n'a pas pu l'accepter.\n\nSi vous pensez que "
        "c'est une erreur, répondez à cet e-mail et une personne réexaminera votre demande.\n")
    [row] = h.rows(outbox, kind="declined")
    assert (row.status, row.last_error) == ("sent", None)
    assert "explanation_said" not in row.context
    assert [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"
            and rec.name == "refunds.notify"] == [
        f"decision {decision_id}'s stored explanation ids (decisions.said) cannot be read (not "
        "valid JSON: Unterminated string starting at: line 1 column 14 (char 13)): its mails "
        "carry the stored English explanation until a person repairs the row"]
    assert "Your return" not in caplog.text
