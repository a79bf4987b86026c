"""A shop in test mode (no Stripe key: every refund goes to the dry run) says so in every email
a customer gets, in the customer's language, with the same banner as its pages: the mails of a
return sent to a review and those of one declined (no attempt says "dry run" for either), the
result of the review, and a withdrawal's receipt; through a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import outbox
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

BANNERS = {
    "en": "This shop is in test mode: no money moves.",
    "de": "Dieser Shop ist im Testmodus: Es wird kein Geld bewegt.",
    "fr": "Cette boutique est en mode test\xa0: aucun argent n'est versé.",
    "es": "Esta tienda está en modo de prueba: no se mueve dinero.",
}
DECLINES = """currency: USD
window: {days: 365, start: payment}
reasons: {changed_mind: decline}
"""


def _test_mode_shop(make: Callable[..., Harness], tmp_path: Path, policy: str | None,
                    locale: str) -> Harness:
    settings = {"stripe_api_key": ""}  # no key: the dry run pays
    if policy is not None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy, encoding="utf-8")
        settings["policy"] = str(path)
    h = make(**settings)
    event = order_paid(paid_at="2025-01-01T10:00:00Z")  # far outside the default window
    event["data"]["order"]["locale"] = locale
    assert h.post_storefront(event).status_code == 200
    return h


def _opens_with_the_banner(h: Harness, smtp: SmtpSink, locale: str) -> list[str]:
    """The kinds of the mails sent, each checked to open with the banner (text and HTML)."""
    banner = BANNERS[locale]
    for mail in smtp.received:
        assert mail.part("plain").startswith(f"{banner}\n\n"), mail.subject
        assert f">{banner}</p>" in mail.part("html"), mail.subject
    return sorted(r.kind for r in h.rows(outbox) if r.channel == "mail" and r.status == "sent")


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es"])
def test_a_review_and_its_decline_say_the_shop_is_in_test_mode(
    mail_shop_with: Callable[..., Harness], smtp: SmtpSink, clock: Clock, tmp_path: Path,
    locale: str,
) -> None:
    h = _test_mode_shop(mail_shop_with, tmp_path, None, locale)
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "review"
    h.drain()
    reviews.decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=False,
                   by="Ada", note="bought 23 months ago", now=clock.now)
    h.drain()

    assert _opens_with_the_banner(h, smtp, locale) == [
        "declined", "in_review", "request_received"]
    assert len(smtp.received) == 3


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es"])
def test_a_return_the_policy_declines_says_the_shop_is_in_test_mode(
    mail_shop_with: Callable[..., Harness], smtp: SmtpSink, tmp_path: Path, locale: str,
) -> None:
    h = _test_mode_shop(mail_shop_with, tmp_path, DECLINES, locale)
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "decline"
    h.drain()

    assert _opens_with_the_banner(h, smtp, locale) == ["declined", "request_received"]
    assert len(smtp.received) == 2


def test_a_live_shop_says_nothing_of_test_mode(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(DECLINES, encoding="utf-8")
    h = mail_shop_with(policy=str(path))  # Stripe's key set: money moves
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid()).status_code == 200
    assert h.post_storefront(return_requested()).json["outcome"] == "decline"  # type: ignore[index]
    h.drain()

    assert [m.subject for m in smtp.received] == [
        "We received your return request for order 1001", "About your return for order 1001"]
    for mail in smtp.received:
        assert "test mode" not in mail.part("plain") + mail.part("html")
