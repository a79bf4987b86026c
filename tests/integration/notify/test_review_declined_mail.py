"""A return a person declines after a review: the email says so, in the customer's language,
with the note meant for them, and never repeats the review-time explanation ("needs a quick
check … this is a routine check, not a refusal. If it is approved, we will refund …"), which
the declined customer read as a promise in the very email that refused it. A decline by the
policy itself still says the policy's own reasons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

NOTE = {"en": "The mug came back without its box.",
        "de": "Leider ist der Becher nicht mehr originalverpackt."}
SAID = {
    "en": ("About your return for order 1001",
           "Our team looked at your return and could not accept it.",
           "A note from our team: The mug came back without its box."),
    "de": ("Zu Ihrer Rücksendung für Bestellung 1001",
           "Unser Team hat sich Ihre Rücksendung angesehen und konnte sie leider nicht annehmen.",
           "Eine Nachricht von unserem Team: Leider ist der Becher nicht mehr originalverpackt."),
}
REVIEW_WORDS = {"en": ("quick check", "If it is approved", "not a refusal", "We will refund"),
                "de": ("geprüft", "Wenn sie genehmigt wird", "keine Ablehnung", "erstatten")}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_person_declining_a_review_is_told_as_a_decline_not_as_the_review(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock, lang: str,
) -> None:
    h = mail_shop
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    paid = order_paid(paid_at="2025-01-01T10:00:00Z")  # out of the 365-day window: a review
    paid["data"]["order"]["locale"] = lang
    assert h.post_storefront(paid).status_code == 200
    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()
    [decision] = h.rows(decisions)
    assert decision.outcome == "review"
    before = len(smtp.received)

    clock.advance(86_400)
    reviews.decide(h.runtime.engine, h.runtime.service, decision.id, approve=False, by="Ada",
                   note="no box", customer_note=NOTE[lang], now=clock.now)
    h.drain()

    [mail] = smtp.received[before:]
    subject, declined, note = SAID[lang]
    assert mail.subject == subject
    text, html = mail.part("plain"), mail.part("html")
    assert text.split("\n\n")[:2] == [declined, note]
    assert f"<p>{declined}</p>" in html
    for words in REVIEW_WORDS[lang]:
        assert words not in text and words not in html
    assert h.rows(refund_attempts) == []  # declined: no money moves


def test_a_decline_by_the_policy_still_gives_the_policys_reasons(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    policy = tmp_path / "strict.yaml"
    policy.write_text("currency: USD\nwindow: {days: 30, start: payment, outside: decline}\n")
    h = mail_shop_with(policy=str(policy))
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid(paid_at="2025-01-01T10:00:00Z")).status_code == 200
    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()

    [mail] = [m for m in smtp.received if m.subject == "About your return for order 1001"]
    [decision] = h.rows(decisions)
    assert decision.outcome == "decline"
    assert mail.part("plain").split("\n\n")[0] == decision.explanation
