"""Events for the merchant's systems: signed with Standard Webhooks and checked here with the
``standardwebhooks`` package's own verifier, each with a stable id, retried when the receiver
answers 500 or cannot be reached, and visible to finance when they give up."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
import responses
from standardwebhooks import Webhook

from refunds_plugin.ledger.tables import outbox, refund_attempts
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer


def _shop(mail_shop_with: Callable[..., Harness], fake: FakeStripe, **settings: Any) -> Harness:
    h = mail_shop_with(mail_url="", outbound_url=HOOK, outbound_secret=SECRET, **settings)
    fake.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    assert h.post_storefront(return_requested()).status_code == 201
    return h


def test_events_are_signed_verified_and_retried_on_500_under_the_same_id(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, erp: Callable[..., Receiver],
    clock: Clock,
) -> None:
    receiver = erp(fail_first=1)
    h = _shop(mail_shop_with, fake_stripe)
    h.drain()

    assert [p["type"] for _, p in receiver.deliveries] == ["return.decided", "refund.succeeded"]
    assert receiver.verified == []
    rows = {r.kind: r for r in h.rows(outbox) if r.channel == "event"}
    assert {k: (r.status, r.tries, r.last_error) for k, r in rows.items()} == {
        "return.decided": ("queued", 1, f"{HOOK} answered 500"),
        "refund.succeeded": ("queued", 1, f"{HOOK} answered 500")}

    clock.advance(700)
    h.drain()

    # each event twice (a 500, then accepted), under the same id both times
    assert sorted(i for i, _ in receiver.deliveries) == sorted(
        [rows["return.decided"].id, rows["refund.succeeded"].id] * 2)
    verified = {p["type"]: (i, p) for i, p in receiver.verified}
    assert {t: i for t, (i, _) in verified.items()} == {
        "return.decided": rows["return.decided"].id,
        "refund.succeeded": rows["refund.succeeded"].id}
    decided, succeeded = verified["return.decided"][1], verified["refund.succeeded"][1]
    [attempt] = h.rows(refund_attempts)
    assert decided["type"] == "return.decided"
    assert {k: decided["data"][k] for k in ("order_id", "outcome", "amount", "refund_amount",
                                            "currency", "customer_email")} == {
        "order_id": "1001", "outcome": "approve", "amount": 2500, "refund_amount": 2500,
        "currency": "USD", "customer_email": "ann@example.com"}
    assert succeeded["type"] == "refund.succeeded"
    assert {k: succeeded["data"][k] for k in ("attempt_id", "decision_id", "amount", "currency",
                                              "kind", "provider_reference")} == {
        "attempt_id": attempt.id, "decision_id": attempt.decision_id, "amount": 2500,
        "currency": "USD", "kind": "refund", "provider_reference": attempt.provider_reference}
    assert decided["timestamp"] == "2026-11-24T12:00:00+00:00"  # when it happened, every try
    assert [(r.status, r.tries) for r in h.rows(outbox) if r.channel == "event"] == [
        ("sent", 2), ("sent", 2)]


def test_a_tampered_delivery_fails_the_verifier(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe,
    erp: Callable[..., Receiver],
) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    receiver = erp()
    h = _shop(mail_shop_with, fake_stripe)
    h.drain()
    [row] = [r for r in h.rows(outbox) if r.kind == "return.decided"]
    assert row.status == "sent"
    body = h.runtime.courier.outbound.body(  # type: ignore[union-attr]
        row.kind, row.created_at.replace(tzinfo=None), json.loads(row.context))
    signed = {"webhook-id": row.id, "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, signed)
    assert len(receiver.verified) == 2


def test_a_receiver_that_is_down_never_blocks_and_gives_up_where_finance_sees_it(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe,
    erp: Callable[..., Receiver], clock: Clock,
) -> None:
    erp(down=True)
    h = _shop(mail_shop_with, fake_stripe, outbox_max_tries=2)
    h.drain()
    clock.advance(700)
    h.drain()

    [attempt] = h.rows(refund_attempts)
    assert attempt.status == "succeeded"  # money moved; only the events wait
    events = [(r.kind, r.status, r.tries, r.last_error)
              for r in sorted(h.rows(outbox), key=lambda r: r.seq) if r.channel == "event"]
    assert events == [
        ("return.decided", "failed", 2, f"gave up after 2 tries: {HOOK} unreachable: "
                                        "ConnectionError"),
        ("refund.succeeded", "failed", 2, f"gave up after 2 tries: {HOOK} unreachable: "
                                          "ConnectionError")]


def test_a_receiver_asking_to_wait_is_not_tried_before_its_retry_after(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe,
    stripe_server: FakeStripeServer, clock: Clock,
) -> None:
    """Standard Webhooks: a ``Retry-After`` (429, 503) is taken into account; the backoff
    alone would try again within seconds, against the receiver's word and the last try."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(stripe_server.url)
        mock.add(responses.POST, HOOK, status=429, headers={"Retry-After": "3600"})
        h = _shop(mail_shop_with, fake_stripe)
        h.drain()
        tried = len(mock.calls)

        rows = [r for r in h.rows(outbox) if r.channel == "event"]
        assert [(r.kind, r.status, r.tries, r.last_error) for r in rows] == [
            ("return.decided", "queued", 1, f"{HOOK} answered 429"),
            ("refund.succeeded", "queued", 1, f"{HOOK} answered 429")]
        assert {r.next_try_at.replace(tzinfo=UTC) for r in rows} == {
            clock.now + timedelta(seconds=3600)}
        clock.advance(3599)
        h.drain()
        assert len(mock.calls) == tried  # not before the hour it asked for
