"""An order's currency never changes once recorded, and a refund never goes to a payment in
another currency (the finance walk: a re-sent order.paid said JPY for a USD order, and the
approved return became an attempt of 10000 JPY against a USD PaymentIntent; Stripe is sent only
the amount and the PaymentIntent, so a live shop would have refunded 100.00 USD)."""

from __future__ import annotations

import json
from typing import Any

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import (
    decisions,
    events,
    ledger_entries,
    orders,
    payments,
    refund_attempts,
    reviews,
)
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, pay

LINES = [{"id": "l1", "sku": "LAMP-1", "name": "Lamp", "quantity": 2, "unit_amount": 9500,
          "tags": []}]  # 2 × 95.00 + 10.00 shipping = 200.00


def recorded(h: Harness) -> dict[str, Any]:
    """Everything an event could have written (journal entries without their hashes: the
    sealer fills those in on its own time)."""
    # sorted: without ORDER BY, PostgreSQL returns rows in heap order, which an UPDATE (the
    # sealer writing a hash) changes without changing any row's content
    got: dict[str, Any] = {t.name: sorted((tuple(r) for r in h.rows(t)), key=repr)
                           for t in (events, orders, payments, decisions, refund_attempts,
                                     reviews)}
    got["journal"] = sorted((e.seq, e.entry_type, e.subject_id, e.body)
                            for e in h.rows(ledger_entries))
    return got


def test_a_resent_order_in_another_currency_is_refused_and_the_refund_stays_in_dollars(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    first = harness.post_storefront(order_paid("4010", lines=LINES, shipping=1000,
                                               reference="pi_4010"))
    assert first.status_code == 200
    pay(harness, fake_stripe, "pi_4010", 20000, created=T0, order_id="4010")
    before = recorded(harness)

    resp = harness.post_storefront(order_paid(
        "4010", event_id="evt_paid_4010_again", currency="JPY", lines=LINES, shipping=1000,
        reference="pi_4010"))

    assert resp.status_code == 409
    assert resp.json == {"error": {"code": "currency_changed", "message": (
        "order 4010 is recorded in USD; this content says JPY. An order's currency never "
        "changes, so nothing of it was recorded: refund or cancel the order in the shop and "
        "send the new one under a new order id")}}
    assert recorded(harness) == before  # no inbox row, no order change, no journal entry
    [order] = harness.rows(orders)
    assert (order.currency, order.total_amount) == ("USD", 20000)

    answer = harness.post_storefront(return_requested("r-4010", "4010"))
    assert answer.status_code == 201, answer.json
    harness.drain()

    [d] = harness.rows(decisions)
    assert (d.outcome, d.currency, d.refund_amount) == ("approve", "USD", 9500)
    assert [(a.currency, a.amount, a.payment_reference, a.status)
            for a in harness.rows(refund_attempts)] == [("USD", 9500, "pi_4010", "succeeded")]
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [
        ("pi_4010", 9500)]
    assert harness.chain_problem() is None


def test_a_refund_to_a_payment_taken_in_another_currency_waits_for_a_person(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # Stripe took dollars; the storefront says the order is in euros
    pay(harness, fake_stripe, "pi_4020", 20000, created=T0, order_id="4020")
    harness.post_storefront(order_paid("4020", currency="EUR", lines=LINES, shipping=1000,
                                       reference="pi_4020"))
    [payment] = harness.rows(payments)
    assert (payment.reference, payment.currency) == ("pi_4020", "USD")

    harness.post_storefront(return_requested("r-4020", "4020"))
    harness.drain()

    [d] = harness.rows(decisions)
    assert (d.outcome, d.reason_code, d.currency, d.refund_amount) == (
        "review", "currency_mismatch", "EUR", 9500)
    assert d.explanation.endswith(
        "The payment was taken in another currency than this refund, so a person will check it "
        "before any money moves.")
    assert [(r.status, r.reason) for r in harness.rows(reviews)] == [
        ("open", "currency_mismatch: pi_4020: payment pi_4020 was taken in USD; this refund is "
                 "95.00 EUR")]
    assert harness.count(refund_attempts) == 0
    assert fake_stripe.refunds == []

    # a person's approval cannot send it either: refused, nothing recorded, the review stays
    admin = create_token(harness.runtime.engine, "Ada", "admin", harness.clock()).secret
    before = recorded(harness)
    resp = harness.client().post(f"/api/reviews/{d.id}", json={"action": "approve",
                                                              "note": "looks fine"},
                                 headers={"Authorization": f"Bearer {admin}"})
    assert resp.status_code == 400
    assert resp.json["error"] == {"code": "currency_mismatch", "message": (
        "payment pi_4020 was taken in USD; this refund is 95.00 EUR: approve it as store "
        "credit, or refund it at the provider by hand and decline here")}
    assert recorded(harness) == before
    assert [r.status for r in harness.rows(reviews)] == ["open"]
    harness.drain()
    assert fake_stripe.refunds == []
    assert json.loads(d.body)["trace"][-1]["code"] == "currency_mismatch"


def test_the_guard_reads_the_payments_currency_with_the_facts_and_the_table_for_any_other(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The decision's transaction reads each payment's currency with the facts (no second
    read for the guard); a reference the facts do not hold is read from the table."""
    from refunds_plugin.domain.decision import Decision, Outcome, Resolution
    from refunds_plugin.domain.kinds import ResolutionKind
    from refunds_plugin.ledger.decisions import foreign_payments
    from refunds_plugin.ledger.facts import read_order

    pay(harness, fake_stripe, "pi_4021", 20000, created=T0, order_id="4021")
    harness.post_storefront(order_paid("4021", currency="EUR", lines=LINES, shipping=1000,
                                       reference="pi_4021"))
    refund = Decision(Outcome.APPROVE, "ok", "", "EUR", "p", "h",
                      resolutions=(Resolution(ResolutionKind.REFUND, 9500,
                                              payment_reference="pi_4021"),))
    said = {"pi_4021": "payment pi_4021 was taken in USD; this refund is 95.00 EUR"}
    with harness.runtime.engine.connect() as conn:
        found = read_order(conn, "4021", harness.clock())
        assert found is not None
        seen = found[1]
        assert dict(seen.currencies) == {"pi_4021": "USD"}
        assert foreign_payments(conn, "4021", refund, seen.currencies) == said
        # what the facts read decides: the table is not asked again
        assert foreign_payments(conn, "4021", refund, {"pi_4021": "EUR"}) == {}
        # a reference the facts do not hold: the table is
        assert foreign_payments(conn, "4021", refund, {}) == said
        assert foreign_payments(conn, "4021", refund) == said
