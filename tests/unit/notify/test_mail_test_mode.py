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
