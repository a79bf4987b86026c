"""One outbound event as the merchant's endpoint receives it: the Standard Webhooks headers
and signature (checked by the spec's own recipe and by the ``standardwebhooks`` package), and
what each kind of answer means for the outbox (spec, "Delivery success and failure")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
import requests
import responses
from standardwebhooks import Webhook

from refunds_plugin.notify.mail import DeliveryError
from refunds_plugin.notify.outbound import Outbound

HOOK = "https://erp.mugs.example/hooks/refunds"
KEY = b"merchant-erp-signing-secret-0001"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
ROW_ID = "6a0c2f4e-8a4f-5a0e-9d39-2a7c0f0e9b11"
HAPPENED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DATA = {"order_id": "1001", "amount": 2500, "currency": "EUR", "note": "Grüße, señor"}


def _outbound(wall: float) -> Outbound:
    return Outbound(HOOK, SECRET, requests.Session(), wall=lambda: wall)


@responses.activate
def test_an_event_carries_the_spec_headers_and_a_signature_any_verifier_accepts() -> None:
    responses.add(responses.POST, HOOK, status=204)
    now = time.time()
    _outbound(now + 0.75).send(ROW_ID, "refund.succeeded", HAPPENED, DATA)

    [call] = responses.calls
    body = call.request.body
    assert isinstance(body, bytes)
    headers = call.request.headers
    assert headers["webhook-id"] == ROW_ID
    assert headers["webhook-timestamp"] == str(int(now + 0.75))  # integer seconds
    assert headers["content-type"] == "application/json"
    # the spec's recipe: HMAC-SHA256 over "{msg_id}.{timestamp}.{payload}", base64, "v1,"
    signed = f"{ROW_ID}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    # and the maintained package, as a receiver runs it
    assert Webhook(SECRET).verify(body, dict(headers)) == {
        "type": "refund.succeeded", "timestamp": "2026-11-24T12:00:00+00:00", "data": DATA}


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_try_and_is_not_followed(status: int) -> None:
    """A 302 followed as requests does would GET the new address and record its 200 as the
    merchant's acceptance: the event would be ``sent`` and never received."""
    moved = "https://erp.mugs.example/hooks/new"
    responses.add(responses.POST, HOOK, status=status, headers={"Location": moved})
    responses.add(responses.GET, moved, status=200)
    responses.add(responses.POST, moved, status=200)

    with pytest.raises(DeliveryError) as raised:
        _outbound(time.time()).send(ROW_ID, "refund.succeeded", HAPPENED, DATA)

    assert (raised.value.message, raised.value.retryable) == (
        f"{HOOK} answered {status} (a redirect, not followed: set REFUNDS_OUTBOUND_URL to "
        f"the address it names, {moved})", True)
    assert [c.request.url for c in responses.calls] == [HOOK]


@responses.activate
def test_410_gone_is_final_and_not_tried_again() -> None:
    responses.add(responses.POST, HOOK, status=410)

    with pytest.raises(DeliveryError) as raised:
        _outbound(time.time()).send(ROW_ID, "refund.succeeded", HAPPENED, DATA)

    assert (raised.value.message, raised.value.retryable) == (
        f"{HOOK} answered 410 Gone: it no longer takes our events", False)


@responses.activate
@pytest.mark.parametrize("status", [404, 429, 500, 502, 503])
def test_other_refusals_are_tried_again(status: int) -> None:
    responses.add(responses.POST, HOOK, status=status)

    with pytest.raises(DeliveryError) as raised:
        _outbound(time.time()).send(ROW_ID, "refund.succeeded", HAPPENED, DATA)

    assert (raised.value.message, raised.value.retryable) == (
        f"{HOOK} answered {status}", True)


@responses.activate
@pytest.mark.parametrize(("said", "seconds"), [
    ("120", 120.0),
    ("Tue, 24 Nov 2026 12:30:00 GMT", 1800.0),  # a date: from the signing clock's now
    ("31536000", 86400.0),  # a year: a day at most, else it stays queued, never failed
    ("Tue, 24 Nov 2027 12:00:00 GMT", 86400.0),
    ("soon", None),  # neither: the backoff alone
    ("-5", None),
])
def test_retry_after_is_read_for_the_next_try(said: str, seconds: float | None) -> None:
    responses.add(responses.POST, HOOK, status=503, headers={"Retry-After": said})

    with pytest.raises(DeliveryError) as raised:
        _outbound(HAPPENED.timestamp()).send(ROW_ID, "refund.succeeded", HAPPENED, DATA)

    assert (raised.value.message, raised.value.retryable, raised.value.retry_after) == (
        f"{HOOK} answered 503", True, seconds)


def test_the_receiver_is_given_the_time_standard_webhooks_recommends() -> None:
    """15 to 30 s (spec, "Request timeouts"): an endpoint answering in 12 s was cut off at
    10 s, recorded failed and sent the event again."""
    asked: dict[str, object] = {}

    class Session(requests.Session):
        def post(self, url: str | bytes, data: object = None, json: object = None,
                 **kw: object) -> requests.Response:
            asked.update(kw)
            answer = requests.Response()
            answer.status_code = 204
            return answer

    Outbound(HOOK, SECRET, Session(), wall=time.time).send(ROW_ID, "refund.succeeded",
                                                           HAPPENED, DATA)
    assert asked["timeout"] == 15.0
