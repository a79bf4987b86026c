"""An email about a decision whose money goes to the dry run (``test_mode``) opens with the pages'
test-mode banner and promises nothing the dry run does not keep: no money on its way, and no
email that never comes (the dry run's attempts cause none)."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.config import load_config
from refunds_plugin.notify.kinds import MAIL_KINDS
from refunds_plugin.notify.render import Renderer
from tests.unit.notify.test_notify_rendering import CONTEXT, EXTRA

BANNER = "This shop is in test mode: no money moves."
# what a mail says of money or an email to come, which the dry run never sends
PROMISES = ("we will write again", "follows in a separate email", "on its way within",
            "we are refunding", "We are sending")


def _render(kind: str, context: dict[str, Any], locale: str = "en") -> Any:
    renderer = Renderer(load_config(env={}, overrides={"saleor_app_url": "https://r.example"}),
                        "key")
    return renderer.render(kind, context, locale)


@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_every_kind_in_test_mode_opens_with_the_banner_and_keeps_its_promises(kind: str) -> None:
    context = CONTEXT | EXTRA.get(kind, {}) | {
        "test_mode": True, "credit_amount": 500, "unavailable": ["Mug"],
        "explanation": "Your return of 1 × Mug is approved. The money will be on its way "
                       "within 48 hours."}

    out = _render(kind, context)

    assert out.text.startswith(BANNER + "\n\n")
    assert f">{BANNER}</p>" in out.html
    for promise in PROMISES:
        assert promise not in out.text and promise not in out.html, (kind, promise)


def test_a_live_mail_has_no_banner_and_still_says_what_follows() -> None:
    received = _render("item_received", CONTEXT)
    unavailable = _render("exchange_unavailable", CONTEXT | {
        "credit_amount": 500, "unavailable": ["Mug"]})

    assert BANNER not in received.text + received.html
    assert "We are sending 25.00 USD back to you now; we will write again when it is on its " \
        "way." in received.text
    assert "Instead, you get 5.00 USD in store credit; its code follows in a separate email." \
        in unavailable.text


def test_test_mode_says_what_would_come_instead_of_an_exchange() -> None:
    out = _render("exchange_unavailable", CONTEXT | {
        "test_mode": True, "credit_amount": 500, "unavailable": ["Mug"]})

    assert "Instead, 25.00 USD would be refunded to your original payment." in out.text
    assert "Instead, you would get 5.00 USD in store credit." in out.text


@pytest.mark.parametrize(("locale", "banner", "sentence"), [
    ("de", "Dieser Shop ist im Testmodus: Es wird kein Geld bewegt.",
     "Im Testmodus senden wir Ihnen 25,00\xa0$ nicht zurück, und es folgt keine weitere E-Mail "
     "dazu."),
    ("es", "Esta tienda está en modo de prueba: no se mueve dinero.",
     "En modo de prueba no te devolvemos 25,00\xa0US$, y no recibirás ningún otro correo sobre "
     "ello."),
])
def test_the_receipt_in_test_mode_reads_in_the_customers_language(
    locale: str, banner: str, sentence: str,
) -> None:
    out = _render("item_received", CONTEXT | {"test_mode": True}, locale)

    assert out.text.startswith(banner + "\n\n")
    assert f"\n{sentence}\n" in out.text


def _receipt_sentences(context: dict[str, Any]) -> list[str]:
    """The receipt's paragraphs about money (each its own)."""
    text = _render("item_received", context).text
    return [p for p in text.split("\n\n") if p.startswith(("We are", "In test mode,"))]


@pytest.mark.parametrize(("test_mode", "said"), [
    (False, ["We are sending 15.00 USD back to you now; we will write again when it is on its "
             "way.",
             "We are issuing your store credit of 12.00 USD now; we will write again when it is "
             "ready."]),
    (True, ["In test mode, we do not send 15.00 USD back to you, and no other email about it "
            "will follow.",
            "In test mode, we do not issue your store credit of 12.00 USD, and no other email "
            "about it will follow."]),
])
def test_the_receipt_names_what_it_releases_by_kind_not_the_decisions_amount(
    test_mode: bool, said: list[str],
) -> None:
    released = CONTEXT | {"amount": 4700, "released_attempts": ["a-1", "a-2"],
                          "released_refund": 1500, "released_credit": 1200,
                          "test_mode": test_mode}

    assert _receipt_sentences(released) == said
    nothing = released | {"released_attempts": [], "released_refund": 0, "released_credit": 0}
    assert _receipt_sentences(nothing) == []  # it all went before: the receipt promises none


@pytest.mark.parametrize(("locale", "said"), [
    ("de", "Wir stellen Ihnen jetzt Ihr Guthaben von 12,00\xa0$ aus; wir schreiben Ihnen wieder, "
           "sobald es bereit ist."),
    ("fr", "Nous émettons maintenant votre avoir de 12,00\xa0$US\u202f; nous vous écrirons de "
           "nouveau dès qu'il sera prêt."),
    ("es", "Estamos emitiendo tu crédito de tienda de 12,00\xa0US$; te escribiremos de nuevo "
           "cuando esté listo."),
])
def test_the_receipt_releasing_store_credit_reads_in_the_customers_language(
    locale: str, said: str,
) -> None:
    released = CONTEXT | {"released_attempts": ["a-2"], "released_refund": 0,
                          "released_credit": 1200}

    assert f"\n{said}\n" in _render("item_received", released, locale).text
