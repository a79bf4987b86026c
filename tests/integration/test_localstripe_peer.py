"""Our Stripe path against an independent Stripe: localstripe (PyPI), run as a subprocess on
loopback (``tests/fakes/localstripe_peer.py`` says where it is brought back to Stripe's
documented behaviour, and why).

The shop's way in: a real PaymentIntent at localstripe, the storefront's signed ``order.paid``,
Stripe's ``payment_intent.succeeded`` signed and delivered by localstripe itself to the service
served on loopback, a signed return; the executor runs; then localstripe, not our ledger, says
what was refunded.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from refunds_plugin.ledger.tables import decisions, payments, refund_attempts, reviews
from tests.fakes import STRIPE_SECRETS, Clock, Harness, order_paid, return_requested, stripe_event
from tests.fakes.loopback import Loopback

ROOT = Path(__file__).parents[2]
CAPTURED = 5500  # 2 mugs × 2500 + 500 shipping
VISA = "4242424242424242"
DECLINED_AT_CHARGE = "4000000000000341"  # attaches, then the charge is declined


class Peer:
    """localstripe in a subprocess, and a stripe-python client of it."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.localstripe_peer"], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().split()  # "port <n>" once it is bound
        if first[:1] != ["port"]:
            self.stop()
            pytest.fail(f"localstripe did not start: {log.read_text()[-2000:]}")
        self.url = f"http://127.0.0.1:{first[1]}"
        deadline = time.monotonic() + 10
        while True:  # bound is not yet serving: wait for an answer
            try:
                requests.get(f"{self.url}/_config/peer/requests", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.client = stripe.StripeClient(
            "sk_test_shop", base_addresses={"api": self.url}, max_network_retries=0)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.log.close()

    def deliver_to(self, url: str) -> None:
        """localstripe signs Stripe's events with ``secret`` and posts them to ``url``."""
        requests.post(f"{self.url}/_config/webhooks/peer", timeout=5, data={
            "url": url, "secret": STRIPE_SECRETS[0], "events[]": ["payment_intent.succeeded"]},
        ).raise_for_status()

    def requests_seen(self, method: str, path: str) -> list[dict[str, Any]]:
        seen = requests.get(f"{self.url}/_config/peer/requests", timeout=5).json()
        return [r for r in seen if (r["method"], r["path"]) == (method, path)]

    def refund_posts(self, idempotency_key: str) -> list[int]:
        """The answers localstripe gave to refund POSTs carrying ``idempotency_key``."""
        return [r["status"] for r in self.requests_seen("POST", "/v1/refunds")
                if r["idempotency_key"] == idempotency_key]

    def answer_refunds_late(self, count: int, seconds: float) -> None:
        requests.post(f"{self.url}/_config/peer/late_refunds", timeout=5,
                      json={"count": count, "seconds": seconds}).raise_for_status()

    def paid_intent(self, amount: int, order_id: str, card: str = VISA,
                    capture: int | None = None) -> stripe.PaymentIntent:
        """A customer pays ``amount`` USD by card; confirmed, captured (when not declined): in
        full, or only ``capture`` of it after a separate authorisation."""
        c = self.client.v1
        customer = c.customers.create(params={"email": "ann@example.com"})
        pm = c.payment_methods.create(params={"type": "card", "card": {
            "number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
        c.payment_methods.attach(pm.id, params={"customer": customer.id})
        params: Any = {"amount": amount, "currency": "usd", "customer": customer.id,
                       "payment_method": pm.id, "metadata": {"order_id": order_id}}
        if capture is not None:
            params["capture_method"] = "manual"
        intent = c.payment_intents.create(params=params)
        try:
            intent = c.payment_intents.confirm(intent.id)
        except stripe.CardError:
            return c.payment_intents.retrieve(intent.id)
        if capture is not None:
            intent = c.payment_intents.capture(intent.id, params={"amount_to_capture": capture})
        return intent

    def charge_of(self, intent_id: str) -> str:
        latest = self.client.v1.payment_intents.retrieve(intent_id).latest_charge
        assert latest is not None
        return latest if isinstance(latest, str) else latest.id

    def refunds_of(self, charge_id: str) -> list[stripe.Refund]:
        return list(self.client.v1.refunds.list(params={"charge": charge_id}).data)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    if importlib.util.find_spec("localstripe") is None:
        missing = "localstripe is not installed (pip install -e '.[test]' brings it)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {missing}")
        pytest.skip(missing)
    p = Peer(tmp_path_factory.mktemp("localstripe") / "stderr.log")
    yield p
    p.stop()


def _recorded(app: Any, seen: list[tuple[str, str]]) -> Callable[..., Any]:
    """The WSGI app, keeping (path, status) of every request it answers."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append((environ["PATH_INFO"], status))
            return start_response(status, headers, exc_info)
        return app(environ, start)
    return wsgi


class Shop:
    """The service (real app, executor, SQLite ledger) served on loopback, with its own order id
    so tests sharing one localstripe never meet there."""

    def __init__(self, harness: Harness, peer: Peer) -> None:
        self.h, self.peer = harness, peer
        self.order_id = f"o-{uuid.uuid4().hex[:8]}"
        self.answered: list[tuple[str, str]] = []
        self.server = Loopback(_recorded(harness.app, self.answered), name="shop").start()
        peer.deliver_to(f"{self.server.url}/webhooks/stripe")

    def pay(self, card: str = VISA, capture: int | None = None
            ) -> tuple[stripe.PaymentIntent, str]:
        """The order is paid at localstripe and the storefront says so; returns the intent and
        its charge's id."""
        intent = self.peer.paid_intent(CAPTURED, self.order_id, card, capture)
        paid_at = (self.h.clock.now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = order_paid(self.order_id, reference=intent.id, paid_at=paid_at)
        assert self.h.post_storefront(event).status_code == 200
        return intent, self.peer.charge_of(intent.id)

    def paid_and_confirmed(self, capture: int | None = None
                           ) -> tuple[stripe.PaymentIntent, str]:
        """``pay``, and wait for localstripe's own payment_intent.succeeded to be taken."""
        intent, charge_id = self.pay(capture=capture)
        self.wait_for_stripe(intent.id)
        return intent, charge_id

    def wait_for_stripe(self, reference: str, seconds: float = 8.0) -> Any:
        """The payment row once localstripe's payment_intent.succeeded was taken."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            [row] = self.h.rows(payments, reference=reference)
            if row.confirmed_at is not None:
                return row
            time.sleep(0.05)
        pytest.fail(f"no payment_intent.succeeded from localstripe; answered {self.answered}")

    def ask_return(self, return_id: str, quantity: int = 1, event_id: str | None = None) -> Any:
        lines = [{"line_id": "l1", "quantity": quantity, "reason": "changed_mind"}]
        return self.h.post_storefront(return_requested(
            return_id, self.order_id, lines=lines, event_id=event_id))

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def shop(sqlite_url: str, peer: Peer) -> Iterator[Shop]:
    # localstripe signs its events with the wall clock: the service's clock is today's
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    harness = Harness(sqlite_url, clock, peer.url)
    s = Shop(harness, peer)
    yield s
    s.close()
    harness.close()


def _attempt(shop: Shop) -> Any:
    [attempt] = shop.h.rows(refund_attempts, order_id=shop.order_id)
    return attempt


def test_a_return_refunds_the_charge_at_localstripe_once_with_the_exact_amount(
    shop: Shop, peer: Peer
) -> None:
    intent, charge_id = shop.pay()
    row = shop.wait_for_stripe(intent.id)
    assert (row.order_id, row.captured, row.charge_id, row.refunded_reported) == (
        shop.order_id, CAPTURED, charge_id, 0)
    # localstripe's own signature over its own body passed our verifier
    assert shop.answered == [("/webhooks/stripe", "200 OK")]

    answer = shop.ask_return("r-1")
    shop.h.drain()

    assert (answer.status_code, answer.json["outcome"], answer.json["refund_amount"]) == (
        201, "approve", 2500)
    [refund] = peer.refunds_of(charge_id)
    attempt = _attempt(shop)
    assert (refund.amount, refund.currency, refund.status, refund.payment_intent) == (
        2500, "usd", "succeeded", intent.id)
    assert refund.reason == "requested_by_customer"
    assert refund.metadata is not None and refund.metadata.to_dict() == {
        "attempt_id": attempt.id, "decision_id": attempt.decision_id,
        "order_id": shop.order_id, "policy_hash": shop.h.runtime.policy.content_hash,
        "source": "refunds-plugin"}
    assert peer.client.v1.charges.retrieve(charge_id).amount_refunded == 2500
    assert (attempt.status, attempt.amount, attempt.sent_amount, attempt.provider_reference,
            attempt.tries) == ("succeeded", 2500, 2500, refund.id, 1)
    assert peer.refund_posts(attempt.idempotency_key) == [200]

    # the same return delivered again, and Stripe's event delivered again: nothing moves
    again = shop.ask_return("r-1")
    [event] = [e for e in peer.client.v1.events.list(
        params={"type": "payment_intent.succeeded"}).data if e.data.object.id == intent.id]
    redelivered = shop.h.post_stripe(event.to_dict())
    shop.h.drain()

    assert (again.status_code, again.get_json()["duplicate"]) == (200, True)
    assert (redelivered.status_code, redelivered.get_json()["duplicate"]) == (200, True)
    assert [r.id for r in peer.refunds_of(charge_id)] == [refund.id]
    assert peer.client.v1.charges.retrieve(charge_id).amount_refunded == 2500
    assert peer.refund_posts(attempt.idempotency_key) == [200]
    assert _attempt(shop).id == attempt.id
    assert shop.h.chain_problem() is None


def test_after_a_partial_refund_a_return_beyond_what_is_left_is_refused_and_never_sent(
    shop: Shop, peer: Peer
) -> None:
    intent, charge_id = shop.paid_and_confirmed()
    shop.ask_return("r-1")
    shop.h.drain()
    [ours] = peer.refunds_of(charge_id)
    # the merchant refunds 20.00 more in the Dashboard. localstripe sends no charge.refunded
    # (Stripe does): the event is made from localstripe's own charge, signed as Stripe signs
    outside = peer.client.v1.refunds.create(params={"charge": charge_id, "amount": 2000})
    charge = peer.client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 4500
    told = shop.h.post_stripe(stripe_event("evt_ch_refunded_" + charge_id, "charge.refunded",
                                           charge.to_dict()))
    assert told.status_code == 200

    sent_before = peer.requests_seen("POST", "/v1/refunds")

    answer = shop.ask_return("r-2")  # the other mug and the shipping: 30.00, 10.00 left
    shop.h.drain()

    assert (answer.status_code, answer.json["outcome"], answer.json["reason_code"],
            answer.json["refund_amount"]) == (201, "review", "exceeds_refundable", 1000)
    # localstripe would have taken it (it never checks what a charge has left; Stripe
    # refuses): only our own limit keeps the refunds within what was captured
    assert sorted((r.id, r.amount) for r in peer.refunds_of(charge_id)) == sorted(
        [(ours.id, 2500), (outside.id, 2000)])
    assert peer.client.v1.charges.retrieve(charge_id).amount_refunded == 4500
    attempt = _attempt(shop)
    assert (attempt.amount, attempt.sent_amount, attempt.status) == (2500, 2500, "succeeded")
    assert peer.requests_seen("POST", "/v1/refunds") == sent_before
    rows = sorted((d.request_key, d.outcome, d.reason_code, d.refund_amount)
                  for d in shop.h.rows(decisions, order_id=shop.order_id))
    assert rows == [("return:r-1", "approve", "approved", 2500),
                    ("return:r-2", "review", "exceeds_refundable", 1000)]
    [review] = shop.h.rows(reviews)
    assert (review.status, review.reason) == ("open", "exceeds_refundable")
    [row] = shop.h.rows(payments, reference=intent.id)
    assert (row.captured, row.refunded_reported) == (CAPTURED, 4500)


def test_a_refund_localstripe_refuses_fails_the_attempt_and_opens_a_review(
    shop: Shop, peer: Peer
) -> None:
    # the card is declined at the charge, yet the storefront reports the order paid
    intent, charge_id = shop.pay(card=DECLINED_AT_CHARGE)
    assert (intent.status, peer.client.v1.charges.retrieve(charge_id).status) == (
        "requires_payment_method", "failed")

    answer = shop.ask_return("r-1")
    shop.h.drain()
    shop.h.drain()  # a final refusal is not tried again

    assert (answer.status_code, answer.json["outcome"], answer.json["refund_amount"]) == (
        201, "approve", 2500)
    attempt = _attempt(shop)
    assert (attempt.status, attempt.tries, attempt.sent_amount, attempt.provider_reference,
            attempt.last_error) == (
        "failed", 1, None, None, "InvalidRequestError: Cannot refund a failed payment.")
    [review] = shop.h.rows(reviews)
    assert (review.decision_id, review.status, review.reason) == (
        attempt.decision_id, "open",
        "attempt_failed: InvalidRequestError: Cannot refund a failed payment.")
    # (localstripe keeps the uncaptured 5.00 as a refund without metadata, as Stripe counts it
    # in amount_refunded; ours carry the attempt's metadata)
    assert [r.amount for r in peer.refunds_of(charge_id) if r.metadata and r.metadata.to_dict()
            ] == []
    assert peer.refund_posts(attempt.idempotency_key) == [400]
    assert shop.h.chain_problem() is None


def test_a_refund_whose_answer_was_lost_and_retried_a_day_later_is_not_paid_twice(
    shop: Shop, peer: Peer
) -> None:
    intent, charge_id = shop.paid_and_confirmed()
    peer.answer_refunds_late(1, seconds=4.0)  # our timeout is 3 s: localstripe refunds, unheard
    shop.ask_return("r-1")
    shop.h.drain()
    attempt = _attempt(shop)
    assert (attempt.status, attempt.tries, attempt.provider_reference) == ("pending", 1, None)
    [made] = peer.refunds_of(charge_id)

    # the service is down for a day and a bit: Stripe prunes an idempotency key once it is 24 h
    # old, so the retry's key is news to it (localstripe keeps no keys at all: the same)
    shop.h.clock.advance(25 * 3600)
    shop.h.drain()

    attempt = _attempt(shop)
    assert (attempt.status, attempt.tries, attempt.provider_reference, attempt.sent_amount) == (
        "succeeded", 2, made.id, 2500)
    assert [r.id for r in peer.refunds_of(charge_id)] == [made.id]
    assert peer.client.v1.charges.retrieve(charge_id).amount_refunded == 2500
    # the retry looked for the refund by its metadata and sent nothing again
    assert peer.refund_posts(attempt.idempotency_key) == [200]
    assert shop.h.chain_problem() is None


def test_a_partial_capture_caps_what_a_return_may_refund_at_what_stripe_captured(
    shop: Shop, peer: Peer
) -> None:
    intent, charge_id = shop.paid_and_confirmed(capture=5000)  # of the order's 55.00
    assert intent.to_dict()["amount_received"] == 5000

    answer = shop.ask_return("r-1", quantity=2)
    shop.h.drain()

    # the whole order (55.00) is more than Stripe captured: a person confirms 50.00, nothing
    # is sent meanwhile (before, 55.00 was approved and sent)
    got = answer.get_json()
    assert (got["outcome"], got["reason_code"], got["refund_amount"], got["attempts"]) == (
        "review", "exceeds_refundable", 5000, [])
    assert "This is more than the order's payment holds" in got["explanation"]
    # (localstripe keeps the uncaptured 5.00 as a refund without metadata, as Stripe counts it
    # in amount_refunded; ours carry the attempt's metadata)
    assert [r.amount for r in peer.refunds_of(charge_id) if r.metadata and r.metadata.to_dict()
            ] == []
    [row] = shop.h.rows(payments, reference=intent.id)
    assert row.captured == 5000
