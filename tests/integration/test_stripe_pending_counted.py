"""A pending refund of ours that Stripe's ``amount_refunded`` already counts is counted once:
as pending, not also as refunded, so a second return is offered what is really left. Captured
55.00 (2 mugs × 25.00 + 5.00 shipping); the first mug's 25.00 refund is pending at Stripe."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

CAPTURED = 5500  # 2 mugs × 2500 + 500 shipping, paid with pi_123 (charge ch_123)
T0 = 1764000000


def event(event_id: str, type_: str, obj: dict[str, Any], created: int,
          **extra: Any) -> dict[str, Any]:
    return {**stripe_event(event_id, type_, obj), "created": created, **extra}


def charge_refunded(event_id: str, amount_refunded: int, created: int, *,
                    key: str | None = None, refunds: list[dict[str, Any]] | None = None,
                    api_version: str = "2026-10-28.endive") -> dict[str, Any]:
    """``key``: the idempotency key of the request that caused it (Stripe's ``request``);
    ``refunds``: the charge's refunds list, as API versions before 2022-11-15 render it."""
    charge: dict[str, Any] = {
        "id": "ch_123", "object": "charge", "amount": CAPTURED, "amount_captured": CAPTURED,
        "captured": True, "amount_refunded": amount_refunded,
        "refunded": amount_refunded == CAPTURED, "currency": "usd", "payment_intent": "pi_123"}
    if refunds is not None:
        charge["refunds"] = {"object": "list", "data": refunds, "has_more": False,
                             "total_count": len(refunds)}
    return event(event_id, "charge.refunded", charge, created, api_version=api_version,
                 request={"id": "req_1" if key else None, "idempotency_key": key})


def refund_event(event_id: str, type_: str, refund: dict[str, Any], status: str,
                 created: int) -> dict[str, Any]:
    return event(event_id, type_, {**refund, "status": status,
                                   "failure_reason": "declined" if status == "failed" else None},
                 created)


def payment(harness: Harness) -> PaymentFacts:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay


def first_refund_pending(harness: Harness, fake_stripe: FakeStripe) -> Any:
    """Order paid 55.00; the first mug's 25.00 refund is pending at Stripe."""
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    fake_stripe.next_refund_status = "pending"
    assert harness.post_storefront(order_paid()).status_code == 200
    first = harness.post_storefront(return_requested("r-1")).json
    assert first is not None and (first["outcome"], first["refund_amount"]) == ("approve", 2500)
    harness.drain()
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.amount) == ("sent", 2500)
    fake_stripe.refunds[0]["created"] = T0 + 1  # Stripe's clock, as its events' times
    return attempt


def second_return(harness: Harness, fake_stripe: FakeStripe) -> None:
    answer = harness.post_storefront(return_requested("r-2")).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["refund_amount"]) == (
        "approve", "approved", 3000)  # the last mug, and shipping with it: all that is left
    sent = [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")]
    assert sent == ["2500", "3000"]  # the second once
    assert fake_stripe.refunded("pi_123") == CAPTURED
    fake_stripe.refunds[1]["created"] = T0 + 12


@pytest.mark.parametrize("evidence", ["request_key", "refunds_list"])
def test_a_pending_refund_stripe_already_counts_is_not_counted_twice(
    harness: Harness, fake_stripe: FakeStripe, evidence: str
) -> None:
    attempt = first_refund_pending(harness, fake_stripe)
    [stripe_refund] = fake_stripe.refunds
    said = (charge_refunded("evt_ch_1", 2500, T0 + 10, key=attempt.idempotency_key)
            if evidence == "request_key" else
            charge_refunded("evt_ch_1", 2500, T0 + 10, api_version="2020-08-27",
                            refunds=[{**stripe_refund}]))
    assert harness.post_stripe(said).status_code == 200

    pay = payment(harness)
    assert (pay.refunded, pay.pending, pay.refundable) == (0, 2500, 3000)
    second_return(harness, fake_stripe)
    assert verify_ledger(harness.runtime.engine) == []


def test_a_counted_pending_refund_that_then_succeeds_is_counted_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt = first_refund_pending(harness, fake_stripe)
    [first] = fake_stripe.refunds
    harness.post_stripe(charge_refunded("evt_ch_1", 2500, T0 + 10, key=attempt.idempotency_key))
    second_return(harness, fake_stripe)

    harness.post_stripe(refund_event("evt_re_1s", "refund.updated", first, "succeeded", T0 + 30))

    pay = payment(harness)
    assert (pay.refunded, pay.pending, pay.refundable) == (2500, 3000, 0)
    # Stripe's word on the second one too: all of it once, never above what was captured
    second = fake_stripe.refunds[1]
    harness.post_stripe(charge_refunded("evt_ch_2", CAPTURED, T0 + 40))
    harness.post_stripe(refund_event("evt_re_2s", "refund.updated", second, "succeeded", T0 + 50))
    pay = payment(harness)
    assert (pay.refunded, pay.pending, pay.refundable) == (CAPTURED, 0, 0)


def test_a_counted_pending_refund_that_then_fails_frees_its_amount_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt = first_refund_pending(harness, fake_stripe)
    [first] = fake_stripe.refunds
    harness.post_stripe(charge_refunded("evt_ch_1", 2500, T0 + 10, key=attempt.idempotency_key))
    second_return(harness, fake_stripe)
    second = fake_stripe.refunds[1]
    [_, second_attempt] = sorted(harness.rows(refund_attempts), key=lambda a: a.created_at)
    harness.post_stripe(charge_refunded("evt_ch_2", CAPTURED, T0 + 20,
                                        key=second_attempt.idempotency_key))

    first["status"] = "failed"  # Stripe gives the money back to the merchant
    harness.post_stripe(refund_event("evt_re_1f", "refund.failed", first, "failed", T0 + 30))

    pay = payment(harness)
    assert (pay.refunded, pay.pending, pay.refundable) == (0, 3000, 2500)  # the second, pending
    failed = harness.rows(refund_attempts, id=attempt.id)[0]
    assert failed.status in ("failed", "review")
    assert second["status"] == "pending"


def test_a_mark_no_entry_made_is_found_by_verify(harness: Harness, fake_stripe: FakeStripe) -> None:
    """Marking an open refund as counted by hand would make its amount refundable again."""
    attempt = first_refund_pending(harness, fake_stripe)
    with harness.runtime.engine.begin() as conn:
        conn.execute(update(refund_attempts).where(refund_attempts.c.id == attempt.id)
                     .values(counted_by_provider=True))

    assert payment(harness).refundable == 3000
    [problem] = verify_ledger(harness.runtime.engine)
    assert (problem.where, problem.problem, problem.detail) == (
        f"refund_attempts row {attempt.id}", "row_edited",
        "counted_by_provider is True but no stripe_counts entry says so")
