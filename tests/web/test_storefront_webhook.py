"""``POST /webhooks/storefront``: signed events in, one decision per request, none on refusal."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions, events, refund_attempts
from tests.fakes import Harness, dumps, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}


def _with(path: str, value: Any) -> dict[str, Any]:
    """An order.paid event with one field replaced (``None`` removes it)."""
    event = copy.deepcopy(order_paid())
    node: Any = event
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last: Any = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return event


PAYLOAD_CASES = [
    pytest.param(_with("id", None), "id: Missing data for required field.", id="missing-id"),
    pytest.param(_with("data.order.currency", None),
                 "data.order.currency: Missing data for required field.", id="missing-currency"),
    pytest.param(_with("data.order.lines.0.quantity", "2"),
                 "data.order.lines.0.quantity: Not a valid integer.", id="quantity-as-string"),
    pytest.param(_with("data.order.lines.0.unit_amount", -1),
                 "data.order.lines.0.unit_amount: Must be greater than or equal to 0.",
                 id="negative-amount"),
    pytest.param(_with("data.order.lines.0.unit_amount", 25.5),
                 "data.order.lines.0.unit_amount: Not a valid integer.", id="fractional-amount"),
    pytest.param(_with("data.order.total_amount", "55.00"),
                 "data.order.total_amount: Not a valid integer.", id="amount-as-decimal-string"),
    pytest.param(_with("data.order.currency", "XYZ"),
                 "data.order.currency: unknown currency 'XYZ': expected an ISO 4217 code such "
                 "as USD", id="unknown-currency"),
    pytest.param(_with("data.order.paid_at", "yesterday"),
                 "data.order.paid_at: Not a valid datetime.", id="paid-at-not-a-date"),
    pytest.param(_with("data", "order"), "data: Not a valid mapping type.", id="data-not-object"),
]


@pytest.mark.parametrize(("event", "problem"), PAYLOAD_CASES)
def test_a_malformed_order_is_refused_naming_the_field_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe, event: dict[str, Any], problem: str
) -> None:
    resp = harness.post_storefront(event)

    assert resp.status_code == 400
    assert resp.json is not None
    assert resp.json["error"]["code"] == "invalid_payload"
    assert problem in resp.json["error"]["fields"]
    assert harness.money_rows() == NOTHING
    assert fake_stripe.calls == []


def test_a_return_with_a_negative_quantity_is_refused_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    before = harness.money_rows()

    resp = harness.post_storefront(return_requested(
        lines=[{"line_id": "l1", "quantity": -1, "reason": "changed_mind"}]))

    assert resp.status_code == 400
    assert resp.json is not None
    assert resp.json["error"]["fields"] == [
        "data.return.lines.0.quantity: Must be greater than or equal to 1."]
    assert harness.money_rows() == before
    assert fake_stripe.calls == []


SIGNATURE_CASES = [
    pytest.param({"timestamp_shift": -301}, "signature_expired",
                 "signature timestamp is 301 s old (tolerance 300 s)", id="stale"),
    pytest.param({"timestamp_shift": 301}, "signature_from_future",
                 "signature timestamp is 301 s in the future (tolerance 300 s)", id="future"),
    pytest.param({"secret": "whsec_someone_else"}, "signature_mismatch",
                 "no Refunds-Signature signature matches the body: wrong secret, or the body "
                 "was changed", id="wrong-secret"),
    pytest.param({"tamper": True}, "signature_mismatch",
                 "no Refunds-Signature signature matches the body: wrong secret, or the body "
                 "was changed", id="body-changed-after-signing"),
    pytest.param({"header": None}, "signature_missing", "missing Refunds-Signature header",
                 id="no-header"),
    pytest.param({"header": "v1=abc"}, "signature_malformed",
                 "signature header has no timestamp (t=…)", id="no-timestamp"),
    pytest.param({"header": "t=1795003200"}, "signature_malformed",
                 "signature header has no v1 signature", id="no-v1"),
    pytest.param({"header": "t=soon,v1=abc"}, "signature_malformed",
                 "signature timestamp 'soon' is not an integer", id="timestamp-not-integer"),
]


@pytest.mark.parametrize(("how", "code", "message"), SIGNATURE_CASES)
def test_a_badly_signed_event_is_refused_with_the_exact_cause_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe, how: dict[str, Any], code: str, message: str
) -> None:
    raw = dumps(order_paid())
    now = int(harness.clock.timestamp())
    if "header" in how:
        headers = {} if how["header"] is None else {"Refunds-Signature": how["header"]}
        resp = harness.client().post("/webhooks/storefront", data=raw, headers=headers)
    else:
        body = raw.replace(b'"unit_amount": 2500', b'"unit_amount": 9500') if how.get(
            "tamper") else None
        resp = harness.post_storefront(
            raw, timestamp=now + how.get("timestamp_shift", 0),
            secret=how.get("secret", "whsec_storefront_test"), body=body)

    assert resp.status_code == 400
    assert resp.json == {"error": {"code": code, "message": message}}
    assert harness.money_rows() == NOTHING
    assert fake_stripe.calls == []


@pytest.mark.parametrize(("raw", "message_start"), [
    (b"{not json", "body is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'["order.paid"]', "body must be a JSON object"),
    (b'{"id": NaN}', "body is not valid JSON: NaN is not a number"),
    (b"\xff\xfe", "body is not valid JSON: 'utf-8' codec can't decode byte 0xff"),
])
def test_a_signed_body_that_is_not_a_json_object_is_refused_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe, raw: bytes, message_start: str
) -> None:
    resp = harness.post_storefront(raw)

    assert resp.status_code == 400
    assert resp.json is not None
    assert resp.json["error"]["code"] == "malformed_json"
    assert resp.json["error"]["message"].startswith(message_start)
    assert harness.money_rows() == NOTHING
    assert fake_stripe.calls == []


def test_an_oversized_body_is_refused_with_413_before_anything_is_recorded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    event = order_paid()
    event["padding"] = "x" * (1024 * 1024)

    resp = harness.post_storefront(event)

    assert resp.status_code == 413
    assert resp.json == {"error": {"code": "body_too_large",
                                   "message": "request body is over 1048576 bytes"}}
    assert harness.money_rows() == NOTHING
    assert fake_stripe.calls == []


def test_an_unknown_event_type_is_acknowledged_and_nothing_is_recorded(harness: Harness) -> None:
    event = order_paid()
    event["type"] = "order.fulfilled"

    resp = harness.post_storefront(event)

    assert resp.status_code == 200
    assert resp.json == {"received": True, "ignored": "order.fulfilled"}
    assert harness.money_rows() == NOTHING


def test_a_return_for_an_order_never_seen_is_refused_and_leaves_no_trace(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    resp = harness.post_storefront(return_requested(order_id="404"))

    assert resp.status_code == 404
    assert resp.json == {"error": {"code": "unknown_order",
                                   "message": "order 404 is unknown: send order.paid first"}}
    assert harness.money_rows() == NOTHING
    assert fake_stripe.calls == []


def test_a_return_is_answered_at_once_with_the_decision_and_its_explanation(
    harness: Harness,
) -> None:
    harness.post_storefront(order_paid())

    resp = harness.post_storefront(return_requested())

    assert resp.status_code == 201
    body = resp.json
    assert body is not None
    assert (body["outcome"], body["resolution"], body["amount"], body["currency"]) == (
        "approve", "refund", 2500, "USD")
    assert body["explanation"] == (
        "Your return of 1 × Mug is approved. We will refund 25.00 USD to your original payment. "
        "Please send back: Mug. The money will be on its way within 48 hours.")
    assert [(a["kind"], a["amount"], a["status"]) for a in body["attempts"]] == [
        ("refund", 2500, "pending")]


def test_the_same_return_delivered_20_times_at_once_is_decided_once_and_refunded_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code == 200
    event = return_requested()
    start = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []

    def deliver() -> None:
        client = harness.client()
        start.wait()
        resp = harness.post_storefront(event, client=client)
        answers.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    harness.drain()

    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert len({body["decision_id"] for _, body in answers}) == 1
    assert sum(1 for _, body in answers if not body["duplicate"]) == 1
    assert harness.count(decisions) == 1
    assert harness.count(events) == 2  # order.paid + the return, once each
    attempts = harness.rows(refund_attempts)
    assert [(a.amount, a.sent_amount, a.status) for a in attempts] == [(2500, 2500, "succeeded")]
    refund_calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert len(refund_calls) == 1
    assert refund_calls[0].params["amount"] == "2500"
    assert fake_stripe.refunded("pi_123") == 2500


def test_the_same_order_paid_delivered_20_times_at_once_is_recorded_once(
    harness: Harness,
) -> None:
    event = order_paid()
    start = threading.Barrier(20)
    statuses: list[int] = []

    def deliver() -> None:
        client = harness.client()
        start.wait()
        statuses.append(harness.post_storefront(event, client=client).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert statuses == [200] * 20
    assert harness.count(events) == 1
    assert [e.status for e in harness.rows(events)] == ["processed"]


def test_a_redelivered_return_answers_the_first_decision_without_deciding_again(
    harness: Harness,
) -> None:
    harness.post_storefront(order_paid())
    first = harness.post_storefront(return_requested())
    again = harness.post_storefront(return_requested())

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json is not None and again.json is not None
    assert again.json["decision_id"] == first.json["decision_id"]
    assert again.json["duplicate"] is True
    assert harness.count(decisions) == 1
    assert harness.count(refund_attempts) == 1


def test_a_late_delivered_return_is_judged_by_its_requested_at_never_by_the_envelopes_created(
    any_db_url: str, tmp_path: Any,
) -> None:
    """README, "When a return was asked for": without ``requested_at`` the moment of receipt
    decides; ``created`` is never used."""
    from datetime import UTC, datetime

    from tests.fakes import Clock

    policy = tmp_path / "shop.yaml"
    policy.write_text("window: {days: 30, start: payment, outside: review}\n", encoding="utf-8")
    day_41 = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)  # paid 2026-11-01T10:00Z
    day_26 = "2026-11-27T10:00:00Z"
    h = Harness(any_db_url, Clock(day_41), settings={"policy": str(policy)})
    try:
        h.post_storefront(order_paid())
        late = return_requested("r-1")
        late["created"] = int(datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp())
        asked = return_requested("r-2", lines=[{"line_id": "l1", "quantity": 1,
                                                "reason": "changed_mind"}])
        asked["data"]["return"]["requested_at"] = day_26

        by_receipt = h.post_storefront(late).json
        by_request = h.post_storefront(asked).json
    finally:
        h.close()

    assert by_receipt is not None and by_request is not None
    assert (by_receipt["outcome"], by_receipt["reason_code"]) == ("review",
                                                                  "outside_window_review")
    assert (by_request["outcome"], by_request["reason_code"]) == ("approve", "approved")
