"""A refund the payment app declines: Saleor sets the granted refund FAILURE and sends no order
webhook. The provider reads the grant's status from the request's answer, and the poller
re-queries the order while an attempt is ``sent`` or ``unknown``, so the failure reaches the
ledger, the review queue and the customer's status page within a minute."""

from __future__ import annotations

from refunds_plugin import metrics
from refunds_plugin.execution.poller import SaleorPoller
from refunds_plugin.ledger.tables import events, payments, reviews
from tests.fakes.saleor_harness import journal as _journal
from tests.fakes.saleor_harness import rows as _rows
from webhooks.returns.views import status_token

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _sent(shop):
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    shop.saleor.decline_next()
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.sent_amount) == ("sent", 1250)
    return attempt


def _poller(shop, clock):
    return SaleorPoller(shop.engine, shop.runtime.service.saleor_requery, clock,
                        observe=metrics.observe_saleor_poll)


def test_a_declined_refund_is_failed_by_the_poller_within_a_minute(installed, clock):
    attempt = _sent(installed)
    grant = installed.saleor.orders[ORDER]["grantedRefunds"][0]
    poller = _poller(installed, clock)
    before = metrics.SALEOR_POLLS.value("settled")
    assert poller.poll_once() == 0  # not due yet: the first look is 5 s after the request
    clock.advance(5)
    assert poller.poll_once() == 1
    assert grant["status"] == "FAILURE"  # Saleor's Celery task ran; no webhook was sent

    [attempt] = installed.attempts()
    assert attempt.status == "failed"
    assert attempt.last_error == "Saleor reports the granted refund FAILURE"
    assert _journal(installed, attempt.id)[-1] == {
        "status": "failed", "completed_at": "2026-11-24 12:00:05+00:00",
        "provider_reference": grant["id"],
        "last_error": "Saleor reports the granted refund FAILURE",
        "note": "saleor granted refund FAILURE (seen by saleor_poll)",
    }
    [review] = _rows(installed, reviews)
    assert (review.status, review.decision_id) == ("open", attempt.decision_id)
    [pay] = _rows(installed, payments)
    assert (pay.captured, pay.refunded_reported) == (3000, 0)  # no money moved
    assert metrics.SALEOR_POLLS.value("settled") == before + 1
    [_paid, _ret, poll] = _rows(installed, events)
    assert (poll.source, poll.type) == ("saleor", "saleor_poll")

    # the customer's status page says so
    with installed.app.test_request_context():
        token = status_token(attempt.decision_id)
    page = installed.client.get(f"/returns/status/{token}").get_data(as_text=True)
    assert "Failed: the payment provider could not complete it." in page
    assert "Sent: the payment provider is processing it." not in page

    # nothing left to watch; the webhook that may come later is the same state, applied once
    clock.advance(60)
    assert poller.poll_once() == 0
    assert installed.webhook("ORDER_UPDATED", ORDER).get_json()["duplicate"] is True


def _looks(shop, poller, clock, until_s, stop_when_failed=False):
    """Move the clock a second at a time, as the executor's loop would run the poller; the
    seconds (since the request) at which it re-queried, and when the attempt turned failed."""
    looked, failed_at = [], None
    for second in range(1, until_s + 1):
        clock.advance(1)
        if poller.poll_once():
            looked.append(second)
        if failed_at is None and shop.attempts()[0].status == "failed":
            failed_at = second
            if stop_when_failed:
                break
    return looked, failed_at


def test_the_poller_backs_off_to_45_s_and_never_gives_up_while_the_refund_waits(
        installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.executor.drain()  # the app never answers: the grant stays PENDING
    poller = _poller(installed, clock)
    unchanged = metrics.SALEOR_POLLS.value("unchanged")
    looked, _ = _looks(installed, poller, clock, 3000)
    assert looked[:6] == [5, 15, 35, 80, 125, 170]
    assert looked == [5, 15, *range(35, 3001, 45)]  # every 45 s, never a last look
    assert metrics.SALEOR_POLLS.value("unchanged") == unchanged + len(looked)
    [attempt] = installed.attempts()
    assert attempt.status == "sent"

    # after six hours of waiting it slows to every five minutes, and still looks: the last
    # 45 s look is at 21590 s (35 + 479 × 45), then 21890, 22190 ...
    clock.advance(21599 - 3000)
    assert poller.poll_once() == 1  # the 45 s look that fell due meanwhile
    clock.advance(21889 - 21599)
    assert poller.poll_once() == 0
    clock.advance(1)
    assert poller.poll_once() == 1
    clock.advance(299)
    assert poller.poll_once() == 0
    clock.advance(1)
    assert poller.poll_once() == 1
    assert installed.attempts()[0].status == "sent"


def test_a_failure_saleor_learns_at_200_s_reaches_the_ledger_within_a_minute(installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.saleor.decline_next("5xx", after_s=200)  # Saleor's retries of the app run out
    installed.executor.drain()
    poller = _poller(installed, clock)
    looked, failed_at = _looks(installed, poller, clock, 400, stop_when_failed=True)
    assert failed_at == 215  # the look at 215 s is the first after Saleor knew (200 s)
    assert looked == [5, 15, 35, 80, 125, 170, 215]
    [attempt] = installed.attempts()
    assert attempt.last_error == "Saleor reports the granted refund FAILURE"


def test_a_failure_saleor_learns_at_1600_s_reaches_the_ledger_within_a_minute(
        installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.saleor.decline_next(after_s=1600)
    installed.executor.drain()
    poller = _poller(installed, clock)
    _, failed_at = _looks(installed, poller, clock, 2000, stop_when_failed=True)
    assert failed_at == 1610  # within 60 s of 1600 s
    [review] = _rows(installed, reviews)
    assert review.status == "open"


def test_a_failure_already_in_the_request_answer_fails_the_attempt_at_once(installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.saleor.decline_next()
    installed.saleor.answer_before_reply = True  # the app answered before Saleor replied
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert attempt.status == "failed"
    assert attempt.last_error == (
        "refund_failure: Saleor reports the granted refund FAILURE in its answer")
    [review] = _rows(installed, reviews)
    assert review.status == "open"
