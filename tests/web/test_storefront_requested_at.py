"""A return's ``requested_at`` is the moment the policy decides it as of (its windows,
``refund_within_days``, a tier's months as a customer). One more than ``CLOCK_SKEW`` ahead of the
service's clock is refused, 400 ``requested_at_in_future``, with nothing recorded; one within it
(a storefront clock running a little fast) is taken."""

from __future__ import annotations

from typing import Any

from refunds_plugin.ledger.tables import decisions, events, refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe


def _asked_at(when: str, return_id: str = "r-1") -> dict[str, Any]:
    event = return_requested(return_id)
    event["data"]["return"]["requested_at"] = when
    return event


def test_a_return_asked_for_more_than_five_minutes_ahead_is_refused_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200  # clock: 2026-11-24 12:00
    before = harness.money_rows()

    resp = harness.post_storefront(_asked_at("2026-11-24T13:05:01+01:00"))

    assert (resp.status_code, resp.json) == (400, {"error": {
        "code": "requested_at_in_future",
        "message": "requested_at 2026-11-24T13:05:01+01:00 is in the future: later than the "
                   "service's clock (2026-11-24T12:00:00+00:00) by more than 5 minutes"}})
    assert harness.money_rows() == before
    assert [e.event_id for e in harness.rows(events)] == ["evt_paid_1001"]
    assert harness.rows(decisions) == [] and harness.rows(refund_attempts) == []
    assert fake_stripe.calls == []


def test_a_return_asked_for_within_five_minutes_of_the_clock_is_decided(
    harness: Harness,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200

    resp = harness.post_storefront(_asked_at("2026-11-24T12:05:00Z"))

    assert resp.status_code == 201, resp.json
    [row] = harness.rows(decisions)
    assert (row.order_id, row.outcome) == ("1001", "approve")
