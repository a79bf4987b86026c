"""The send-back sentences of the emails, as a German, French or Spanish reader reads them: the
return-by day is the last day still open ("au plus tard le", "a más tardar el"), and the
address line after "send them by …" does not switch to "it" (a neutral "the parcel", in English
too)."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.config import load_config
from refunds_plugin.notify.render import Renderer

ADDRESS = {"name": "Lager", "street": "Weg 2", "postal_code": "10115", "city": "Berlin",
           "country": "DE"}
TWO_BACK: dict[str, Any] = {
    "decision_id": "d-1", "order_id": "1001", "order_number": "1001", "currency": "EUR",
    "amount": 9000, "refund_amount": 9000, "credit_amount": 0, "status": "approved",
    "explanation": "", "return_required": True, "send_back": ["2 × Robe lin 38"],
    "send_back_units": 2, "return_by": "2026-12-19T23:59:59+00:00",
    "return_instructions": {"address": ADDRESS, "return_by": "2026-12-19T23:59:59+00:00"},
    "items": [{"line_id": "l1", "name": "Robe lin 38", "quantity": 2, "amount": 9000}],
}


def _render(kind: str, locale: str, context: dict[str, Any]) -> str:
    renderer = Renderer(load_config(env={}, overrides={"saleor_app_url": ""}), "key")
    return renderer.render(kind, context, locale).text


@pytest.mark.parametrize(("locale", "by", "to"), [
    ("de", "Bitte senden Sie die Artikel bis zum 19. Dezember 2026.", "Senden Sie das Paket an:"),
    ("fr", "Merci de les renvoyer au plus tard le 19 décembre 2026.", "Envoyez le colis à\xa0:"),
    ("es", "Envíalos a más tardar el 19 de diciembre de 2026.", "Envía el paquete a:"),
    ("en", "Send them by 19 December 2026.", "Send the parcel to:"),
])
def test_the_approval_says_by_when_and_where_in_agreeing_words(
    locale: str, by: str, to: str,
) -> None:
    text = _render("approved", locale, TWO_BACK)

    assert f"{by}\n\n{to}\nLager\nWeg 2\n10115 Berlin\nDE\n" in text


@pytest.mark.parametrize(("locale", "subject", "sentence"), [
    ("fr", "Rappel : merci de renvoyer votre retour pour la commande 1001 au plus tard le "
           "19 décembre 2026",
     "Nous n'avons pas encore reçu votre retour. Merci de l'envoyer au plus tard le "
     "19 décembre 2026 pour que nous puissions le finaliser."),
    ("es", "Recordatorio: envía tu devolución del pedido 1001 a más tardar el 19 de diciembre "
           "de 2026",
     "Todavía no hemos recibido tu devolución. Envíala a más tardar el 19 de diciembre de "
     "2026 para que podamos completarla."),
])
def test_the_reminder_gives_the_last_open_day(locale: str, subject: str, sentence: str) -> None:
    renderer = Renderer(load_config(env={}, overrides={"saleor_app_url": ""}), "key")

    out = renderer.render("return_reminder", TWO_BACK, locale)

    assert out.subject == subject
    assert out.text.startswith(sentence + "\n")


@pytest.mark.parametrize(("locale", "line"), [
    ("fr", "- 2 × Robe lin 38\xa0: 90,00\xa0€"), ("de", "- 2 × Robe lin 38: 90,00\xa0€"),
    ("en", "- 2 × Robe lin 38: 90.00 EUR"),
])
def test_an_item_and_its_amount_are_set_apart_as_the_reader_writes_it(
    locale: str, line: str,
) -> None:
    assert f"\n{line}\n" in _render("label_ready", locale, TWO_BACK)
