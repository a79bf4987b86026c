"""The page that confirms a withdrawal tells the truth about the receipt email (it never says
one was sent when mail is off or the receipt is switched off) and writes the time of receipt,
to the second, as the reader's language writes dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from refunds_plugin.ledger.tables import decisions, outbox, reviews, withdrawals
from tests.fakes import Clock
from tests.integration.withdrawal.conftest import EMAIL, POLICY, Shop, words

KEEP = ("Please keep this page (print or save it): it is your confirmation of your withdrawal "
        "and of when we received it. We do not send it by email.")


@pytest.mark.parametrize("mail", [{"mail_url": ""}, {"mail_off": ("withdrawal_receipt",)}])
def test_with_no_receipt_email_the_page_asks_to_keep_it_and_never_says_one_was_sent(
    shop_with: Callable[..., Shop], clock: Clock, mail: dict[str, object],
) -> None:
    shop = shop_with(**mail)
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    form = shop.open(client)  # the address is asked for, but no confirmation is promised
    assert "Email address" in words(form) and "for your confirmation" not in words(form)
    values = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL}
    wrong = shop.step(client, form, "review", **{**values, "email": "anna@"})
    assert '<li><a href="#email">Please enter a valid email address.</a></li>' in \
        wrong.get_data(as_text=True)
    summary = shop.step(client, wrong, "review", **values)
    assert "Items 2 × Mug Email address anna@example.com Confirm withdrawal" in words(summary)
    assert "Confirmation to" not in words(summary)
    page = shop.step(client, summary, "confirm", **values)
    shop.h.drain()
    assert page.status_code == 200
    assert ("We received your withdrawal from order 1001 on 24 November 2026, 12:00:07 UTC. "
            f"{KEEP} 2 × Mug") in words(page)
    assert "We have sent" not in words(page)
    assert len(shop.h.rows(withdrawals)) == 1  # recorded all the same
    assert [(r.kind, r.status) for r in shop.h.rows(outbox) if r.kind == "withdrawal_receipt"] \
        == [("withdrawal_receipt", "skipped")]
    assert [m for m in shop.smtp.received if m.subject.startswith("Receipt")] == []


@pytest.mark.parametrize(("language", "said"), [
    ("de-DE", "Wir haben Ihren Widerruf für Bestellung 1001 am 24. November 2026, 12:00:07 Uhr "
              "UTC erhalten. Wir haben eine Bestätigung an anna@example.com gesendet."),
    ("fr-FR", "Nous avons reçu votre rétractation pour la commande 1001 le 24 novembre 2026 à "
              "12:00:07 UTC. Nous avons envoyé une confirmation à anna@example.com."),
    ("es-ES", "Recibimos tu desistimiento del pedido 1001 el 24 de noviembre de 2026, a las "
              "12:00:07 UTC. Hemos enviado una confirmación a anna@example.com."),
])
def test_the_time_of_receipt_is_written_as_the_readers_language_writes_dates(
    shop: Shop, clock: Clock, language: str, said: str,
) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = shop.withdraw(client)
    assert page.status_code == 200
    assert said in words(page)


FINAL_SALE = POLICY + "final_sale: {tags: [final-sale]}\n"
LINES = [{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_amount": 2500,
          "tags": []},
         {"id": "l2", "sku": "VASE-1", "name": "Vase", "quantity": 1, "unit_amount": 4000,
          "tags": ["final-sale"]}]
CHECKING = {
    "en-GB": ("We received your withdrawal from order 1001 on 24 November 2026, 12:00:07 UTC.",
              "Our team is checking your return. We will let you know the answer.",
              "Your withdrawal is recorded as received at that time"),
    "de-DE": ("Wir haben Ihren Widerruf für Bestellung 1001 am 24. November 2026, 12:00:07 Uhr "
              "UTC erhalten.",
              "Unser Team prüft Ihre Rücksendung. Wir teilen Ihnen die Antwort mit.",
              "Ihr Widerruf ist zu diesem Zeitpunkt als eingegangen erfasst"),
    "fr-FR": ("Nous avons reçu votre rétractation pour la commande 1001 le 24 novembre 2026 à "
              "12:00:07 UTC.",
              "Notre équipe examine votre retour. Nous vous communiquerons la réponse.",
              "Votre rétractation est enregistrée comme reçue à ce moment-là"),
    "es-ES": ("Recibimos tu desistimiento del pedido 1001 el 24 de noviembre de 2026, a las "
              "12:00:07 UTC.",
              "Nuestro equipo está revisando tu devolución. Te diremos la respuesta.",
              "Tu desistimiento queda registrado como recibido en ese momento"),
}


@pytest.mark.parametrize("language", sorted(CHECKING))
def test_a_withdrawal_sent_to_review_says_what_its_status_page_says_never_send_it_back(
    shop_with: Callable[..., Shop], clock: Clock, language: str,
) -> None:
    shop = shop_with(FINAL_SALE)
    shop.paid(lines=LINES)  # the vase is final sale: the statutory terms send it to a person
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = shop.withdraw(client)
    received, checking, valid = CHECKING[language]

    assert page.status_code == 200
    said = words(page)
    assert received in said
    assert checking in said
    assert valid in said  # the review is of the refund, never of the right to withdraw
    assert ("Please send the items back" not in said and "Bitte senden Sie die Artikel"
            not in said and "renvoyer les articles" not in said and "Envíanos los" not in said)
    [dec] = shop.h.rows(decisions)
    assert (dec.outcome, [r.status for r in shop.h.rows(reviews)]) == ("review", ["open"])
    status_url = re.search(r'href="([^"]*/returns/status/[^"]+)"', page.get_data(as_text=True))
    assert status_url is not None
    status = client.get(status_url.group(1).replace("https://returns.harbour.example", ""))
    assert status.status_code == 200
    assert checking in words(status)  # the same sentence, word for word
    assert "send-back" not in status.get_data(as_text=True)  # nor does it ask to send it back


@pytest.mark.parametrize(("language", "first"), [
    ("en-GB", "We received your withdrawal from the contract on 24 November 2026, 12:00:07 UTC."),
    ("de-DE", "Wir haben Ihren Widerruf vom Vertrag am 24. November 2026, 12:00:07 Uhr UTC "
              "erhalten."),
    ("fr-FR", "Nous avons reçu votre rétractation du contrat le 24 novembre 2026 à 12:00:07 "
              "UTC."),
    ("es-ES", "Hemos recibido tu desistimiento del contrato el 24 de noviembre de 2026, a las "
              "12:00:07 UTC."),
])
def test_the_receipt_email_writes_the_time_of_receipt_as_its_page_does(
    shop: Shop, clock: Clock, language: str, first: str,
) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, 531_000, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = shop.withdraw(client)
    shop.h.drain()

    assert page.status_code == 200
    [mail] = [m for m in shop.smtp.received  # the receipt, whatever else was sent
              if m.subject.startswith(("Receipt", "Eingangsbestätigung", "Accusé", "Acuse"))]
    assert mail.part("plain").split("\n\n")[0] == first
    assert f"<p>{first}</p>" in mail.part("html")
    assert "2026-11-24" not in mail.part("plain") + mail.part("html")


def test_a_language_chosen_on_the_pages_is_the_receipts_language_page_and_email(
    shop: Shop, clock: Clock,
) -> None:
    """An English browser picks "Français" (``?lang=fr``) before withdrawing: the receipt page
    and its email are French, as the statement was made in French."""
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    assert client.get("/returns/withdraw?lang=fr").status_code == 200
    page = shop.withdraw(client)
    shop.h.drain()

    assert ("Nous avons reçu votre rétractation pour la commande 1001 le 24 novembre 2026 à "
            "12:00:07 UTC.") in words(page)
    assert [(r.kind, r.locale) for r in shop.h.rows(outbox)
            if r.kind == "withdrawal_receipt"] == [("withdrawal_receipt", "fr")]
    assert [(m.subject, m.message["Content-Language"]) for m in shop.smtp.to("anna@example.com")
            if "12:00:07" in m.part("plain")] == [
        ("Accusé de réception de votre rétractation pour la commande 1001", "fr")]


def test_the_return_a_withdrawal_becomes_is_told_in_the_language_chosen_too(
    shop: Shop, clock: Clock,
) -> None:
    """The order named no language (the shop's default is English) and the browser is English:
    the customer chose French before withdrawing, so the return's emails are French like the
    receipt, and its decision keeps the choice (``decisions.chosen_locale``)."""
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    assert client.get("/returns/withdraw?lang=fr").status_code == 200
    shop.withdraw(client)
    shop.h.drain()

    assert [(m.subject, m.message["Content-Language"])
            for m in shop.smtp.to("anna@example.com")] == [
        ("Accusé de réception de votre rétractation pour la commande 1001", "fr"),
        ("Nous avons reçu votre demande de retour pour la commande 1001", "fr"),
        ("Votre retour pour la commande 1001 est accepté", "fr")]
    assert [(w.locale, w.chosen_locale) for w in shop.h.rows(withdrawals)] == [("fr", "fr")]
    assert [d.chosen_locale for d in shop.h.rows(decisions)] == ["fr"]


def test_a_withdrawal_in_the_browsers_language_leaves_the_returns_emails_to_the_order(
    shop: Shop, clock: Clock,
) -> None:
    """Nothing chosen: the receipt is in the page's language (the browser's German), but the
    return's emails follow the order (none named: the shop's English), as the order goes first."""
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE"
    shop.withdraw(client)
    shop.h.drain()

    assert [r.locale for r in shop.h.rows(outbox) if r.channel == "mail"] == ["de", None, None]
    assert [(w.locale, w.chosen_locale) for w in shop.h.rows(withdrawals)] == [("de", None)]
