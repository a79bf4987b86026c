"""A customer who chose a language on the returns pages (``?lang=``) gets every later email
about that return in it, before the order's language, through a real SMTP server: the ones the
request causes, the refund the worker sends, and a person's review days later. Without a
choice the order's language decides, as before; a language not shipped is not kept."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from refunds_plugin.domain.facts import ReturnLine, ReturnRequest
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import decisions, outbox
from tests.fakes import Clock, Harness, order_paid
from tests.fakes.returns_client import field, submit
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

EMAIL = "ann@example.com"
ONE_MUG = {"line-0-qty": "1", "line-0-reason": "changed_mind"}


def _paid(h: Harness, fake: FakeStripe, locale: str, paid_at: str = "2026-11-01T10:00:00Z",
          ) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    event = order_paid(paid_at=paid_at)
    event["data"]["order"]["locale"] = locale
    assert h.post_storefront(event).status_code == 200


def _return_on_the_pages(h: Harness, start: str) -> FlaskClient:
    """The customer opens ``start`` (``/returns``, perhaps with ``?lang=``) in a browser that
    asks for Spanish, finds order 1001 and sends back one mug."""
    client = h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-ES,es;q=0.9"
    page = client.get(start)
    posted = client.post("/returns", data={"csrf_token": field(page, "csrf_token"),
                                           "order_number": "1001", "email": EMAIL})
    assert posted.status_code == 303, posted.get_data(as_text=True)
    answer = submit(client, client.get("/returns/order"), **ONE_MUG)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return client


FRENCH = [
    "Nous avons reçu votre demande de retour pour la commande 1001",
    "Votre retour pour la commande 1001 est accepté",
    "Votre remboursement de 25,00 $US pour la commande 1001 est en route",
]
GERMAN = [
    "Wir haben Ihre Rücksendeanfrage zu Bestellung 1001 erhalten",
    "Ihre Rücksendung zu Bestellung 1001 ist genehmigt",
    "Ihre Erstattung von 25,00 $ zu Bestellung 1001 ist unterwegs",
]


def test_a_customer_who_picks_french_on_the_returns_page_gets_every_email_in_french(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    """The order was placed in German, the browser asks for Spanish: the customer chose
    French on the pages, and the request's two emails and the refund the worker sends after
    Stripe paid are French."""
    h = mail_shop
    _paid(h, fake_stripe, "de-DE")

    _return_on_the_pages(h, "/returns?lang=fr")
    h.drain()

    assert [m.subject for m in smtp.received] == FRENCH
    received, approved, sent = smtp.received
    assert "- 1 × Mug\xa0: 25,00\xa0$US" in received.part("plain")
    assert ("Votre retour de 1 × Mug est accepté. Nous allons rembourser 25,00\xa0$US sur votre "
            "moyen de paiement d'origine. À renvoyer\xa0: Mug.") in approved.part("plain")
    assert "Nous avons renvoyé 25,00\xa0$US sur votre moyen de paiement d'origine." in sent.part(
        "plain")
    assert [m.message["Content-Language"] for m in smtp.received] == ["fr", "fr", "fr"]
    assert [r.locale for r in h.rows(outbox) if r.channel == "mail"] == ["fr", "fr", "fr"]
    assert [r.chosen_locale for r in h.rows(decisions)] == ["fr"]
    # the status link in those emails opens in French too, in a browser without the choice
    link = re.search(r"https://returns\.mugs\.example(/returns/status/\S+)", sent.part("plain"))
    assert link is not None
    status = h.client().get(link.group(1), headers={"Accept-Language": "es"})
    assert '<html lang="fr">' in status.get_data(as_text=True)


def test_a_review_closed_days_later_by_a_person_is_told_in_the_language_chosen(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, "de-DE", paid_at="2025-01-01T10:00:00Z")  # out of the window: review
    _return_on_the_pages(h, "/returns?lang=fr")
    h.drain()
    [decision] = h.rows(decisions)
    assert decision.outcome == "review"
    before = len(smtp.received)

    clock.advance(3 * 86_400)
    reviews.decide(h.runtime.engine, h.runtime.service, decision.id, approve=True, by="Ada",
                   note="a loyal customer", now=clock.now)
    h.drain()

    assert [m.subject for m in smtp.received[:before]] == [
        "Nous avons reçu votre demande de retour pour la commande 1001",
        "Votre retour pour la commande 1001 est en cours d'examen",
    ]
    assert [m.subject for m in smtp.received[before:]] == FRENCH[1:]


def test_a_customer_who_chose_nothing_gets_the_orders_language(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, "de-DE")

    _return_on_the_pages(h, "/returns")  # the browser's Spanish chooses nothing
    h.drain()

    assert [m.subject for m in smtp.received] == GERMAN
    assert ("Ihre Rücksendung von 1 × Mug ist genehmigt. Wir werden 25,00\xa0$ auf Ihre "
            "ursprüngliche Zahlungsart erstatten.") in smtp.received[1].part("plain")
    assert [r.chosen_locale for r in h.rows(decisions)] == [None]


def test_a_language_not_shipped_is_not_kept_and_the_orders_decides(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, "de-DE")

    _return_on_the_pages(h, "/returns?lang=it")
    h.drain()

    assert [m.subject for m in smtp.received] == GERMAN
    assert [r.chosen_locale for r in h.rows(decisions)] == [None]


@pytest.mark.parametrize(("given", "kept", "subject"), [
    ("FR_be", "fr", FRENCH[1]),
    ("pt-BR", None, GERMAN[1]),
    ("<b>", None, GERMAN[1]),
])
def test_the_service_keeps_only_a_shipped_language(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
    given: str, kept: str | None, subject: str,
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, "de-DE")
    request = ReturnRequest("r-9", "1001", (ReturnLine("l1", 1, Reason.CHANGED_MIND),),
                            channel="returns_page")

    h.runtime.service.return_requested("returns_page", "returns-page-x", "return.requested",
                                       "{}", request, locale=given)
    h.drain()

    assert [r.chosen_locale for r in h.rows(decisions)] == [kept]
    assert smtp.received[1].subject == subject
