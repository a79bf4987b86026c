"""Each kind of customer email, sent through a real SMTP server: once, to the right address,
with the right subject, amounts and status link, as text and HTML; the webhook's answer never
waits for it."""

from __future__ import annotations

import re
from collections.abc import Callable

from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import outbox, refund_attempts
from refunds_plugin.money import Money
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import Received, SmtpSink
from tests.fakes.stripe_api import FakeStripe
from tests.integration.notify.conftest import APP_URL, FROM

ANN = "ann@example.com"


def _paid(h: Harness, fake: FakeStripe, **kw: object) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid(**kw)).status_code == 200  # type: ignore[arg-type]


def _outbox(h: Harness) -> dict[str, tuple[str, str, int, str | None]]:
    return {r.kind: (r.recipient, r.status, r.tries, r.note) for r in h.rows(outbox)}


def _multipart(mail: Received) -> None:
    assert mail.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.message.iter_parts()] == [
        "text/plain", "text/html"]


def test_an_approved_refund_reaches_the_customer_as_three_emails_each_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)

    answer = h.post_storefront(return_requested())

    assert answer.status_code == 201
    assert smtp.received == []  # the answer went out before any email: they wait in the outbox
    assert _outbox(h) == {
        "request_received": (ANN, "queued", 0, None), "approved": (ANN, "queued", 0, None),
        "return.decided": ("merchant", "queued", 0, None)}

    h.drain()

    assert [m.subject for m in smtp.received] == [
        "We received your return request for order 1001",
        "Your return for order 1001 is approved",
        "Your refund of 25.00 USD for order 1001 is on its way",
    ]
    rows = {r.kind: r for r in h.rows(outbox)}
    for mail, kind in zip(smtp.received, ("request_received", "approved", "refund_sent"),
                          strict=True):
        assert mail.rcpt_tos == [ANN] and mail.message["To"] == ANN
        assert mail.message["From"] == FROM
        assert mail.message["Message-ID"] == f"<{rows[kind].id}@mugs.example>"
        _multipart(mail)
    received, approved, sent = smtp.received
    assert "- 1 × Mug: 25.00 USD" in received.part("plain")
    assert "We will refund 25.00 USD to your original payment." in approved.part("plain")
    assert "Please send back: Mug." in approved.part("plain")
    assert "send the item back" not in approved.part("plain")  # said once, with its units
    assert "We sent 25.00 USD back to your original payment." in sent.part("plain")
    assert "25.00 USD" in sent.part("html") and "<p>" in sent.part("html")
    link = re.search(rf"{re.escape(APP_URL)}(/returns/status/\S+)", received.part("plain"))
    assert link is not None and link.group(0) in received.part("html")
    status = h.client().get(link.group(1))
    assert status.status_code == 200
    assert "We will refund 25.00 USD to your original payment." in status.get_data(as_text=True)
    assert _outbox(h) == {
        "request_received": (ANN, "sent", 1, None), "approved": (ANN, "sent", 1, None),
        "refund_sent": (ANN, "sent", 1, None),
        "return.decided": ("merchant", "skipped", 1, "not sent: REFUNDS_OUTBOUND_URL is not set"),
        "refund.succeeded": ("merchant", "skipped", 1,
                             "not sent: REFUNDS_OUTBOUND_URL is not set")}

    # the same return again, and more rounds of the executor: nothing new is sent
    assert h.post_storefront(return_requested()).status_code == 200
    h.drain()
    assert len(smtp.received) == 3 and len(h.rows(outbox)) == 5


def test_a_review_tells_the_customer_it_is_in_review_then_the_decline_and_the_note(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, paid_at="2025-01-01T10:00:00Z")  # far outside the window
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "review"
    h.drain()
    assert [m.subject for m in smtp.received] == [
        "We received your return request for order 1001",
        "Your return for order 1001 is being reviewed"]
    assert answer["explanation"] in smtp.received[1].part("plain")

    reviews.decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=False,
                   by="Ada", note="internal: bought 23 months ago", now=clock.now,
                   customer_note="Your order is past our 30-day window, sorry.")
    h.drain()

    declined = smtp.received[-1]
    assert len(smtp.received) == 3
    assert declined.subject == "About your return for order 1001"
    assert "A note from our team: Your order is past our 30-day window, sorry." in \
        declined.part("plain")
    assert "internal" not in declined.part("plain") + declined.part("html")
    assert "<strong>A note from our team:</strong> Your order is past our 30-day window, " \
        "sorry." in declined.part("html")


def test_store_credit_is_emailed_with_its_code(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop_with(policy="preset:credit-first")
    _paid(h, fake_stripe)
    h.post_storefront(return_requested(preferred="credit"))
    h.drain()

    [attempt] = h.rows(refund_attempts)
    assert attempt.status == "succeeded" and attempt.credit_code
    credit = smtp.received[-1]
    total = Money(attempt.amount + attempt.bonus, "USD")
    assert credit.subject == f"Your store credit of {total} for order 1001"
    assert f"Your code: {attempt.credit_code}" in credit.part("plain")
    assert attempt.credit_code in credit.part("html")


def test_a_refund_the_provider_refuses_tells_the_customer_what_happens_next(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)
    h.post_storefront(return_requested())
    fake_stripe.fail_next(1, status=400)
    h.drain()

    [attempt] = h.rows(refund_attempts)
    assert attempt.status == "failed"
    failed = smtp.received[-1]
    assert failed.subject == "Your refund for order 1001 did not go through yet"
    assert ("We tried to send you 25.00 USD, but the payment provider did not accept it.\n\n"
            "What happens next: a person on our team has been told and will send it again or "
            "write to you. Your return stays approved and you do not need to do anything.") \
        in failed.part("plain")
    assert [m.subject for m in smtp.received].count(failed.subject) == 1
    assert not any("on its way" in m.subject for m in smtp.received)


def test_a_customer_without_an_email_gets_nothing_and_the_outbox_says_why(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, customer={"id": "c-7"})
    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()

    assert smtp.received == []
    note = "no message: the order has no customer email"
    assert {k: (s, n) for k, (_r, s, _t, n) in _outbox(h).items() if "." not in k} == {
        "request_received": ("skipped", note), "approved": ("skipped", note),
        "refund_sent": ("skipped", note)}


def test_a_kind_switched_off_is_recorded_but_never_sent(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop_with(mail_off=("request_received", "refund_sent"))
    _paid(h, fake_stripe)
    h.post_storefront(return_requested())
    h.drain()

    assert [m.subject for m in smtp.received] == ["Your return for order 1001 is approved"]
    found = _outbox(h)
    assert found["request_received"][1:] == (
        "skipped", 1, "not sent: request_received is switched off ([mail] off)")
    assert found["refund_sent"][1:] == (
        "skipped", 1, "not sent: refund_sent is switched off ([mail] off)")


def test_a_dry_run_approval_after_review_says_we_would_refund_and_that_no_money_moves(
    mail_shop_with: Callable[..., Harness], smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop_with(stripe_api_key="")  # no Stripe key: the money goes to the dry run
    assert h.post_storefront(order_paid(paid_at="2025-01-01T10:00:00Z")).status_code == 200
    answer = h.post_storefront(return_requested(
        lines=[{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}])).json
    assert answer is not None and (answer["outcome"], answer["dry_run"]) == ("review", True)
    assert ("Dry run: if it is approved, we would refund 55.00 USD to your original payment; "
            "no money moves.") in answer["explanation"]
    h.drain()

    reviews.decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=True,
                   by="Ada", note="loyal customer", now=clock.now)
    h.drain()

    approved = [m for m in smtp.received
                if m.subject == "Your return for order 1001 is approved"]
    assert len(approved) == 1
    said = ("Our team checked your return and approved it. Dry run: we would refund 55.00 USD "
            "to your original payment; no money moves.")
    assert approved[0].part("plain").startswith(
        "This shop is in test mode: no money moves.\n\n" + said + "\n")
    assert f"<p>{said}</p>" in approved[0].part("html")
    assert "We will" not in approved[0].part("plain") + approved[0].part("html")
    # nothing was paid: the dry run "succeeded" (shown as dry_run)
    assert [(r.provider, r.status) for r in h.rows(refund_attempts)] == [("dryrun", "succeeded")]


def test_an_approval_after_review_says_our_team_approved_it_not_the_review_time_words(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, paid_at="2025-01-01T10:00:00Z")  # far outside the window: a review
    answer = h.post_storefront(return_requested(
        lines=[{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}])).json
    assert answer is not None and answer["outcome"] == "review"
    h.drain()

    reviews.decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=True,
                   by="Ada", note="internal: loyal customer", now=clock.now,
                   customer_note="We made an exception for you.")
    h.drain()

    assert [m.subject for m in smtp.received][2:] == [
        "Your return for order 1001 is approved",
        "Your refund of 55.00 USD for order 1001 is on its way"]
    approved = smtp.received[2]
    text = approved.part("plain")
    assert text.startswith(
        "Our team checked your return and approved it. We will refund 55.00 USD to your "
        "original payment.\n\nA note from our team: We made an exception for you.\n\n"
        "Please send back: 2 × Mug.\n")
    assert "<p>Our team checked your return and approved it. We will refund 55.00 USD to " \
        "your original payment.</p>" in approved.part("html")
    assert "<p>Please send back: 2 × Mug.</p>" in approved.part("html")
    assert "needs a quick check" not in text + approved.part("html")
    assert "If it is approved" not in text + approved.part("html")
    assert "internal" not in text + approved.part("html")



def test_the_approved_email_lists_what_to_send_back_as_the_explanation_does(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    fake_stripe.add_payment_intent(6700, "usd", "pi_123")
    lines = [{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_amount": 2500},
             {"id": "l2", "sku": "CUP-1", "name": "Cup", "quantity": 1, "unit_amount": 1200}]
    # far outside the window: a review, so the approval email says what to send back itself
    assert h.post_storefront(order_paid(lines=lines, paid_at="2025-01-01T10:00:00Z")
                             ).status_code == 200
    answer = h.post_storefront(return_requested(lines=[
        {"line_id": "l1", "quantity": 2, "reason": "changed_mind"},
        {"line_id": "l2", "quantity": 1, "reason": "changed_mind"}])).json
    assert answer is not None and answer["outcome"] == "review"
    reviews.decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=True,
                   by="Ada", note="late, but a loyal customer", now=clock.now)
    h.drain()

    approved = next(m for m in smtp.received if m.subject.endswith("is approved"))
    assert "\nPlease send back: 2 × Mug and Cup.\n" in approved.part("plain")
    assert "<p>Please send back: 2 × Mug and Cup." in approved.part("html")
    assert "Mug, Cup" not in approved.part("plain") + approved.part("html")
