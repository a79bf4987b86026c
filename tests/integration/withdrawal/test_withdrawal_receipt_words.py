"""The page that confirms a withdrawal tells the truth about the receipt email (it never says
one was sent when mail is off or the receipt is switched off) and writes the time of receipt,
to the second, as the reader's language writes dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from refunds_plugin.ledger.tables import outbox, withdrawals
from tests.fakes import Clock
from tests.integration.withdrawal.conftest import Shop, words

KEEP = ("Please keep this page (print or save it): it is your confirmation of your withdrawal "
        "and of when we received it. We do not send it by email.")


@pytest.mark.parametrize("mail", [{"mail_url": ""}, {"mail_off": ("withdrawal_receipt",)}])
def test_with_no_receipt_email_the_page_asks_to_keep_it_and_never_says_one_was_sent(
    shop_with: Callable[..., Shop], clock: Clock, mail: dict[str, object],
) -> None:
    shop = shop_with(**mail)
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    page = shop.withdraw(shop.h.client())
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
