"""A re-sent order.paid with other content is an update: journalled with what changed,
answered with it, and the money it seems to free waits for a person unless the policy says
``trouble.auto_correct_order_updates: true`` (issue 13: it silently replaced the order and
auto-approved a 55.00 USD "overpayment" refund, answering only ``{"received": true}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import (
    decisions,
    events,
    ledger_entries,
    orders,
    refund_attempts,
    reviews,
)
from tests.fakes import Harness, order_paid, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, pay, payment_intent

MUG = {"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_amount": 2500,
       "tags": []}
FOUR_MUGS = {**MUG, "quantity": 4}


def stored_line(line: dict[str, Any]) -> dict[str, Any]:
    return {**line, "collections": [], "product_id": None, "total_amount": None}


def resent(reference: str = "pi_456") -> dict[str, Any]:
    """The same order 1001, sent again: 4 mugs instead of 2, 105.00, paid by ``reference``."""
    return order_paid(event_id="evt_paid_again", lines=[FOUR_MUGS], reference=reference)


def unlinked_payment(h: Harness, fake: FakeStripe, pi_id: str, amount: int) -> None:
    """Stripe took the money on a PaymentIntent whose metadata names no order (the storefront
    links it by naming it in order.paid)."""
    fake.add_payment_intent(amount, "usd", pi_id)
    obj = {**payment_intent(pi_id, amount, created=T0 + 600), "metadata": {}}
    assert h.post_stripe(stripe_event(f"evt_{pi_id}", "payment_intent.succeeded", obj)).json[
        "note"] == "payment recorded"


def updates(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    return [(e.subject_id, json.loads(e.body)) for e in h.rows(ledger_entries)
            if e.entry_type == "order_updated"]


CHANGED = {
    "lines": {"before": [stored_line(MUG)], "after": [stored_line(FOUR_MUGS)]},
    "total_amount": {"before": 5500, "after": 10500},
    "payments": {"before": {"pi_123": 5500}, "after": {"pi_123": 5500, "pi_456": 10500}},
}


def test_the_issues_resent_order_is_journalled_answered_and_moves_no_money(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    assert harness.post_storefront(order_paid(reference="pi_123")).json == {
        "received": True, "duplicate": False, "updated": False}
    pay(harness, fake_stripe, "pi_123", 5500, created=T0)

    resp = harness.post_storefront(resent())

    assert resp.status_code == 200
    assert resp.json == {
        "received": True, "duplicate": False, "updated": True, "changed": CHANGED,
        "note": "order updated: lines, payments, total_amount; "
                "overpayment 55.00 USD on pi_456: review",
    }
    assert updates(harness) == [
        ("order:1001", {"order_id": "1001", "event_id": "evt_paid_again", "changed": CHANGED})]
    [row] = harness.rows(orders)
    assert (row.total_amount, json.loads(row.lines)) == (10500, [stored_line(FOUR_MUGS)])
    [d] = harness.rows(decisions)
    # pi_456 is only the storefront's word: the first safety rule already holds it
    assert (d.kind, d.outcome, d.reason_code, d.amount) == (
        "overpayment", "review", "unconfirmed_payment", 5500)
    assert harness.count(refund_attempts) == 0
    harness.drain()
    assert fake_stripe.refunds == []
    assert harness.chain_problem() is None


def test_an_update_naming_a_payment_stripe_confirmed_still_waits_for_a_person(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid(reference="pi_123"))
    pay(harness, fake_stripe, "pi_123", 5500, created=T0)
    unlinked_payment(harness, fake_stripe, "pi_456", 10500)
    assert harness.count(decisions) == 0

    resp = harness.post_storefront(resent())

    assert resp.json["changed"] == CHANGED
    assert resp.json["note"] == (
        "order updated: lines, payments, total_amount; overpayment 55.00 USD on pi_456: review")
    [d] = harness.rows(decisions)
    assert (d.kind, d.request_key, d.outcome, d.reason_code, d.amount, d.refund_amount) == (
        "overpayment", "overpayment:16000:pi_456", "review", "order_updated", 5500, 5500)
    assert json.loads(d.body)["trace"][0]["saw"]["detail"] == (  # money as money, for finance
        "captured 160.00 USD against an order total of 105.00 USD")
    assert d.explanation == (
        "We noticed you may have paid more than the total of order 1001 after the order was "
        "changed. Our team is checking it; if so, we will refund the extra 55.00 USD within 48 "
        "hours.")
    assert [(r.status, r.reason) for r in harness.rows(reviews)] == [(
        "open", "order_updated: Order 1001 was changed by a re-sent order.paid; money found "
        "after an order update goes back only when a person confirms it (the policy's "
        "trouble.auto_correct_order_updates is off).")]
    assert harness.count(refund_attempts) == 0
    harness.drain()
    assert fake_stripe.refunds == []


def test_the_policy_can_allow_corrections_after_an_order_update(
    harness_with_policy: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    h = harness_with_policy("trouble: {auto_correct_order_updates: true}\n")
    h.post_storefront(order_paid(reference="pi_123"))
    pay(h, fake_stripe, "pi_123", 5500, created=T0)
    unlinked_payment(h, fake_stripe, "pi_456", 10500)

    resp = h.post_storefront(resent())

    assert resp.json["note"] == (
        "order updated: lines, payments, total_amount; overpayment 55.00 USD on pi_456: approve")
    assert [(a.payment_reference, a.amount, a.kind) for a in h.rows(refund_attempts)] == [
        ("pi_456", 5500, "refund")]
    h.drain()
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [("pi_456", 5500)]
    assert fake_stripe.refunded("pi_123") == 0


def test_the_same_order_sent_again_unchanged_is_no_update(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid(reference="pi_123"))
    pay(harness, fake_stripe, "pi_123", 5500, created=T0)

    again = harness.post_storefront(order_paid(event_id="evt_paid_again", reference="pi_123"))
    redelivered = harness.post_storefront(order_paid(event_id="evt_paid_again",
                                                     reference="pi_123"))

    assert again.json == {"received": True, "duplicate": False, "updated": False}
    assert redelivered.json == {"received": True, "duplicate": True}
    assert updates(harness) == []
    assert harness.count(decisions) == 0
    assert fake_stripe.refunds == []


def test_an_update_of_an_order_whose_stored_lines_cannot_be_read_replaces_them_once(
    harness: Harness, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture,
) -> None:
    harness.post_storefront(order_paid(reference="pi_123"))
    truncated = '[{"id": "l1", "sku": "MUG-1", "name": "Mu'
    with harness.runtime.engine.begin() as conn:  # a restore cut the stored lines short
        conn.execute(update(orders).where(orders.c.order_id == "1001").values(lines=truncated))
    again = order_paid(event_id="evt_paid_again", lines=[FOUR_MUGS], reference="pi_123")

    resp = harness.post_storefront(again)
    redelivered = harness.post_storefront(again)

    changed = {"lines": {"before": "unreadable", "after": [stored_line(FOUR_MUGS)]},
               "total_amount": {"before": 5500, "after": 10500},
               "payments": {"before": {"pi_123": 5500}, "after": {"pi_123": 10500}}}
    assert (resp.status_code, resp.json) == (200, {
        "received": True, "duplicate": False, "updated": True, "changed": changed,
        "note": "order updated: lines, payments, total_amount"})
    assert (redelivered.status_code, redelivered.json) == (200, {
        "received": True, "duplicate": True})
    assert updates(harness) == [
        ("order:1001", {"order_id": "1001", "event_id": "evt_paid_again", "changed": changed})]
    [row] = harness.rows(orders)
    assert (row.total_amount, json.loads(row.lines)) == (10500, [stored_line(FOUR_MUGS)])
    assert [(e.event_id, e.status) for e in harness.rows(events, source="storefront")] == [
        ("evt_paid_1001", "processed"), ("evt_paid_again", "processed")]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"
            and r.name == "refunds.ledger"] == [
        "order 1001's stored lines (orders.lines) cannot be read (JSONDecodeError: "
        "Unterminated string starting at: line 1 column 39 (char 38)): the re-sent "
        "order.paid's lines replace them"]
    assert truncated not in caplog.text and "MUG-1" not in caplog.text
    assert harness.chain_problem() is None
