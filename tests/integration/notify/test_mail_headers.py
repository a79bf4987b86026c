"""What each email says about itself, read off a real SMTP server: the Date it was sent (the
courier's clock at sending, not at queueing), its Message-ID, the language it is written in,
and where a reply goes. A decline or an expiry invites a reply only where one reaches a person."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from refunds_plugin.ledger.tables import outbox
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import Received, SmtpSink
from tests.fakes.stripe_api import FakeStripe

DECLINING = """currency: USD
window: {days: 30, start: payment, outside: decline}
"""
REPLY = "If you think this is wrong, reply to this email and a person will look again."


def _declined(make: Callable[..., Harness], tmp_path: Path, fake: FakeStripe, smtp: SmtpSink,
              **settings: str) -> tuple[Harness, Received]:
    """A return far outside its window, declined by the policy: the decline email."""
    path = tmp_path / "policy.yaml"
    path.write_text(DECLINING, encoding="utf-8")
    h = make(policy=str(path), **settings)
    fake.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid(paid_at="2025-01-01T10:00:00Z")).status_code == 200
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "decline"
    h.drain()
    [declined] = [m for m in smtp.received if m.subject == "About your return for order 1001"]
    return h, declined


def test_each_email_carries_the_time_it_was_sent_its_id_and_its_language(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock,
) -> None:
    h = mail_shop
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    event = order_paid()
    event["data"]["order"]["locale"] = "fr-FR"
    assert h.post_storefront(event).status_code == 200
    assert h.post_storefront(return_requested()).status_code == 201
    clock.advance(3 * 60 + 7)  # queued at 12:00:00, sent at 12:03:07

    h.drain()

    rows = {r.kind: r for r in h.rows(outbox) if r.channel == "mail"}
    received = smtp.received[0]
    assert received.subject == "Nous avons reçu votre demande de retour pour la commande 1001"
    assert received.message["Date"] == "Tue, 24 Nov 2026 12:03:07 +0000"
    assert received.message["Message-ID"] == f"<{rows['request_received'].id}@mugs.example>"
    assert received.message["Content-Language"] == "fr"
    # the From the merchant set takes the replies: no Reply-To beside it
    assert received.message["From"] == "Mugs <returns@mugs.example>"
    assert received.message["Reply-To"] is None
    assert [m.message["Content-Language"] for m in smtp.received] == ["fr", "fr", "fr"]
    assert len({m.message["Message-ID"] for m in smtp.received}) == 3


def test_an_english_email_says_it_is_english(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert mail_shop.post_storefront(order_paid()).status_code == 200
    assert mail_shop.post_storefront(return_requested()).status_code == 201
    mail_shop.drain()

    assert smtp.received[0].message["Content-Language"] == "en"
    assert smtp.received[0].message["Date"] == "Tue, 24 Nov 2026 12:00:00 +0000"


def test_a_decline_from_the_default_no_reply_address_asks_for_no_reply(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    _h, declined = _declined(mail_shop_with, tmp_path, fake_stripe, smtp, mail_from="")

    assert declined.message["From"] == "Mugs <no-reply@127.0.0.1>"
    assert declined.message["Reply-To"] is None
    for part in (declined.part("plain"), declined.part("html")):
        assert "reply to this email" not in part
    # where it stands stays one click away
    assert "See where your return stands at any time: https://returns.mugs.example/returns/" \
        "status/" in declined.part("plain")


def test_a_decline_with_a_reply_to_invites_the_reply_and_sends_it_there(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    _h, declined = _declined(mail_shop_with, tmp_path, fake_stripe, smtp, mail_from="",
                             mail_reply_to="Mugs care <care@mugs.example>")

    assert declined.message["From"] == "Mugs <no-reply@127.0.0.1>"
    assert declined.message["Reply-To"] == "Mugs care <care@mugs.example>"
    assert f"\n{REPLY}\n" in declined.part("plain")
    assert f"<p>{REPLY}</p>" in declined.part("html")


def test_a_decline_from_an_address_a_person_reads_invites_the_reply(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    _h, declined = _declined(mail_shop_with, tmp_path, fake_stripe, smtp,
                             mail_from="Mugs <returns@mugs.example>")

    assert declined.message["Reply-To"] is None  # the From itself takes the reply
    assert f"\n{REPLY}\n" in declined.part("plain")
