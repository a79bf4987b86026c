""""How did we do?" in the emails that give a final answer (approved, declined, the money sent):
the same signed link as the status page's buttons, in the text and the HTML, in the order's
language, only when the service knows its public address; never while a person is still
checking the return, where the page and the link refuse too and store nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import feedback, outbox
from refunds_plugin.notify.links import feedback_path
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import Received, SmtpSink
from tests.fakes.stripe_api import FakeStripe
from tests.integration.notify.conftest import APP_URL
from webhooks.returns.views import status_token

PENDING = ("Our team is still checking your return: you can tell us how we did once we have "
           "answered. Nothing was recorded.")


def _paid(h: Harness, fake: FakeStripe, **kw: Any) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(order_paid(**kw)).status_code == 200


def _stored(h: Harness) -> list[tuple[Any, ...]]:
    with h.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(feedback.c.decision_id, feedback.c.rating, feedback.c.comment))]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def _asked(mail: Received) -> str:
    """The feedback path the email carries, the same in its text and HTML parts."""
    plain = re.search(rf"How did we do\? Answer one short question: {re.escape(APP_URL)}"
                      r"(/returns/feedback/\S+)\n", mail.part("plain"))
    assert plain, mail.part("plain")
    assert '<p style="margin:20px 0 0">How did we do?</p>' in mail.part("html")
    assert f'href="{APP_URL}{plain.group(1)}"' in mail.part("html")
    assert ">Tell us how we did</a>" in mail.part("html")
    return plain.group(1)


def _status_asks(h: Harness, decision_id: str) -> str | None:
    with h.app.test_request_context():
        token = status_token(decision_id)
    html = h.client().get(f"/returns/status/{token}").get_data(as_text=True)
    found = re.search(r'<form method="post" action="([^"]+)" class="rate-us"', html)
    assert ("How did we do?" in html) is (found is not None)
    return found.group(1) if found else None


def test_the_approved_and_refund_emails_ask_and_their_link_opens_the_question(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)
    decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
    h.drain()

    received, approved, sent = smtp.received
    assert "How did we do?" not in received.part("plain") + received.part("html")
    path = _asked(approved)
    assert _asked(sent) == path == _status_asks(h, decision_id)
    assert path.startswith(f"/returns/feedback/{decision_id}/")

    question = h.client().get(path)
    assert question.status_code == 200
    assert "Choose a number: 1 is poor, 5 is excellent." in _text(question.get_data(as_text=True))
    answered = h.client().post(path, data={"rating": "5"})
    assert answered.status_code == 200
    assert "We have your answer: 5 of 5." in _text(answered.get_data(as_text=True))
    assert _stored(h) == [(decision_id, 5, None)]


def test_the_emails_ask_in_the_orders_language(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop
    event = order_paid()
    event["data"]["order"]["locale"] = "de-DE"
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert h.post_storefront(event).status_code == 200
    h.post_storefront(return_requested())
    h.drain()

    approved = smtp.received[1]
    assert re.search(rf"Wie waren wir\? Beantworten Sie eine kurze Frage: {re.escape(APP_URL)}"
                     r"/returns/feedback/\S+\n", approved.part("plain"))
    assert ">Sagen Sie uns, wie wir waren</a>" in approved.part("html")


def test_without_a_public_address_no_email_asks(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink
) -> None:
    h = mail_shop_with(saleor_app_url="")
    _paid(h, fake_stripe)
    h.post_storefront(return_requested())
    h.drain()

    assert len(smtp.received) == 3
    for mail in smtp.received:
        assert "How did we do?" not in mail.part("plain") + mail.part("html")
        assert "/returns/feedback/" not in mail.part("plain") + mail.part("html")


def test_nothing_is_asked_while_in_review_and_the_decline_after_it_asks_for_14_days(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    _paid(h, fake_stripe, paid_at="2025-01-01T10:00:00Z")  # far outside the window: a review
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "review"
    decision_id = answer["decision_id"]
    h.drain()

    in_review = smtp.received[1]
    assert in_review.subject == "Your return for order 1001 is being reviewed"
    assert "How did we do?" not in in_review.part("plain") + in_review.part("html")
    assert _status_asks(h, decision_id) is None  # "Our team is checking your return"
    path = feedback_path(h.app.config["SECRET_KEY"], decision_id)  # as a final email would
    for resp in (h.client().get(path), h.client().post(path, data={"rating": "1"})):
        assert resp.status_code == 409
        assert PENDING in _text(resp.get_data(as_text=True))
    assert _stored(h) == []

    clock.advance(20 * 86_400)  # a person closes the review 20 days later
    reviews.decide(h.runtime.engine, h.runtime.service, decision_id, approve=False, by="Ada",
                   note="past the window", now=clock.now)
    h.drain()

    declined = smtp.received[-1]
    assert declined.subject == "About your return for order 1001"
    assert _asked(declined) == path == _status_asks(h, decision_id)
    clock.advance(14 * 86_400 - 1)  # the window runs from the person's answer
    assert h.client().post(path, data={"rating": "2"}).status_code == 200
    assert _stored(h) == [(decision_id, 2, None)]
    clock.advance(1)
    assert _status_asks(h, decision_id) is None
    assert h.client().post(path, data={"rating": "4"}).status_code == 410
    assert _stored(h) == [(decision_id, 2, None)]


@pytest.mark.parametrize(("later", "asks"), [(14 * 86_400 - 1, True), (14 * 86_400, False)])
def test_a_refund_email_sent_after_the_feedback_window_leaves_the_link_out(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock, later: int,
    asks: bool,
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)
    fake_stripe.fail_next(1, 500)  # Stripe is down: the refund is tried again later
    decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
    h.drain()
    [_, approved] = smtp.received
    path = _asked(approved)  # the approval is the final answer: its window starts here

    clock.advance(later)
    h.drain()

    [sent] = smtp.received[2:]
    with h.app.test_request_context():
        token = status_token(decision_id)
    asked = f"\nHow did we do? Answer one short question: {APP_URL}{path}\n" if asks else ""
    assert sent.subject == "Your refund of 25.00 USD for order 1001 is on its way"
    assert sent.part("plain") == (
        "We sent 25.00 USD back to your original payment.\n\nDepending on your bank it can take "
        "a few business days to appear on your statement.\n\nSee where your return stands at "
        f"any time: {APP_URL}/returns/status/{token}\n{asked}")
    assert ("How did we do?" in sent.part("html")) is asks
    assert ("/returns/feedback/" in sent.part("html")) is asks
    # what the link would have said at the moment the email went out
    answered = h.client().post(path, data={"rating": "4"})
    assert answered.status_code == (200 if asks else 410)
    assert _stored(h) == ([(decision_id, 4, None)] if asks else [])


def test_a_refund_email_queued_inside_the_window_but_sent_after_it_leaves_the_link_out(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock,
) -> None:
    h = mail_shop
    _paid(h, fake_stripe)
    fake_stripe.fail_next(1, 500)
    decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
    h.drain()
    assert len(smtp.received) == 2  # received, approved (with the link)

    clock.advance(14 * 86_400 - 60)  # the refund goes a minute before the window closes,
    smtp.refuse_next(1)  # but the mail server answers "try again later" (451)
    h.drain()
    assert len(smtp.received) == 2
    [queued] = [r for r in h.rows(outbox) if r.kind == "refund_sent"]
    assert (queued.status, queued.tries) == ("queued", 1)

    clock.advance(3600)  # the next try, after the window closed
    h.drain()

    [sent] = smtp.received[2:]
    with h.app.test_request_context():
        token = status_token(decision_id)
    assert sent.subject == "Your refund of 25.00 USD for order 1001 is on its way"
    assert sent.part("plain") == (
        "We sent 25.00 USD back to your original payment.\n\nDepending on your bank it can take "
        "a few business days to appear on your statement.\n\nSee where your return stands at "
        f"any time: {APP_URL}/returns/status/{token}\n")
    assert "How did we do?" not in sent.part("html") and "/returns/feedback/" not in sent.part(
        "html")
