"""What customers are told when no real money moves: a Stripe test key is test mode (the banner,
no promise of when money arrives), and a refund no provider was asked for never reads as one a
provider refused."""

from __future__ import annotations

from collections.abc import Callable

from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

DEFECTIVE = [{"line_id": "l1", "quantity": 1, "reason": "defective"}]


def _paid(h: Harness, fake: FakeStripe) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid()).status_code == 200


def test_a_stripe_test_key_answers_and_mails_in_test_mode_without_a_promise(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop_with(stripe_api_key="sk_test_fake")
    _paid(h, fake_stripe)

    answer = h.post_storefront(return_requested(lines=DEFECTIVE)).json
    h.drain()

    assert answer is not None
    assert (answer["outcome"], answer["dry_run"]) == ("approve", True)
    assert ("Dry run: we would refund 30.00 USD to your original payment; no money moves."
            in answer["explanation"])
    assert "within 48 hours" not in answer["explanation"]
    approved = next(m for m in smtp.received if m.subject == "Your return for order 1001 is "
                    "approved")
    assert "This shop is in test mode: no money moves." in approved.part("html")
    assert "within 48 hours" not in approved.part("plain") + approved.part("html")
    [attempt] = h.rows(refund_attempts)
    assert (attempt.provider, attempt.status) == ("stripe", "succeeded")  # Stripe's test mode
    # as in a dry run, nobody is told money was sent: the customer got the two mails above only
    assert [m.subject for m in smtp.received] == [
        "We received your return request for order 1001",
        "Your return for order 1001 is approved"]


def test_a_refund_no_provider_was_asked_for_never_says_a_provider_refused_it(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)
    h.post_storefront(return_requested(lines=DEFECTIVE))
    del h.runtime.providers["stripe"]  # the key was taken away before the executor ran

    h.drain()

    [attempt] = h.rows(refund_attempts)
    assert attempt.status == "failed"
    assert attempt.last_error == "provider_not_configured: no provider named 'stripe' is " \
        "configured"
    failed = next(m for m in smtp.received if m.subject == "Your refund for order 1001 did not "
                  "go through yet")
    text = failed.part("plain") + failed.part("html")
    assert "We could not send you 30.00 USD automatically: no payment provider was asked " \
        "yet." in failed.part("plain")
    assert "did not accept" not in text
    assert fake_stripe.calls_to("POST", "/v1/refunds") == []
