"""Exchanges on a Stripe shop, end to end through the signed webhooks: a dearer size opens one
Checkout Session for the exact difference (JPY and KWD included), its completion settles the
exchange once however often it is delivered, its expiry falls back to the refund; duplicate and
concurrent requests make one exchange."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.exchanges.shipping import ship_on_reached
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import (
    decisions,
    exchanges,
    ledger_entries,
    outbox,
    refund_attempts,
    reviews,
)
from tests.fakes import Clock, Harness, order_paid, return_requested, stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.stripe_api import FakeStripe
from tests.integration.shipping.conftest import SHOP

pytestmark = pytest.mark.usefixtures("merchant_hook")  # receives what ANNOUNCED shops send

POLICY = """
currency: USD
window: {days: 60}
resolution: {allow: [refund, credit, exchange]}
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: charge}
"""


def shoe_order(currency: str, unit: int, dearer: int) -> dict[str, Any]:
    lines = [{"id": "l1", "sku": "SHOE-41", "name": "Trail shoe 41", "quantity": 1,
              "unit_amount": unit, "variants": [
                  {"sku": "SHOE-43", "name": "Trail shoe 43", "unit_amount": dearer,
                   "in_stock": True, "variant_id": "v43"},
                  {"sku": "SHOE-42", "name": "Trail shoe 42", "unit_amount": unit,
                   "in_stock": True, "variant_id": "v42"}]}]
    return order_paid(currency=currency, lines=lines, shipping=0)


def swap(sku: str = "SHOE-43", name: str = "Trail shoe 43", unit: int = 12500,
         **kw: Any) -> dict[str, Any]:
    return return_requested(lines=[{
        "line_id": "l1", "quantity": 1, "reason": "too_small",
        "exchange_for": {"sku": sku, "name": name, "unit_amount": unit, "variant_id": "v43"}}],
        preferred=None, **kw)


def shop(policy_harness: Any, fake: FakeStripe, currency: str = "USD", unit: int = 10000,
         dearer: int = 12500) -> Harness:
    # the storefront ships on exchange.ready_to_ship; a return address, so the parcel is waited for
    h = policy_harness(POLICY, return_addresses=(SHOP,), **ANNOUNCED)
    fake.add_payment_intent(unit, currency, "pi_123")
    assert h.post_storefront(shoe_order(currency, unit, dearer)).status_code == 200
    return h


def entries(h: Harness, kind: str) -> list[Any]:
    return h.rows(ledger_entries, entry_type=kind)


@pytest.mark.parametrize(("currency", "unit", "dearer", "charge", "said"), [
    pytest.param("USD", 10000, 12500, 2500, "you pay 25.00 USD", id="USD"),
    pytest.param("JPY", 10000, 12500, 2500, "you pay 2,500 JPY", id="JPY-zero-decimal"),
    # Stripe takes KWD in steps of 10 fils: 2.345 KWD more is 2.340 charged, 5 fils waived
    pytest.param("KWD", 10000, 12345, 2340, "we waive 0.005 KWD and you pay 2.340 KWD",
                 id="KWD-three-decimal"),
])
def test_a_dearer_size_opens_one_checkout_session_for_the_exact_difference(
    policy_harness: Any, fake_stripe: FakeStripe, currency: str, unit: int, dearer: int,
    charge: int, said: str,
) -> None:
    h = shop(policy_harness, fake_stripe, currency, unit, dearer)

    answer = h.post_storefront(swap(unit=dearer)).json
    again = h.post_storefront(swap(unit=dearer)).json  # the storefront sends it again

    assert answer is not None and again is not None
    [session] = fake_stripe.checkout_sessions.values()
    [call] = fake_stripe.calls_to("POST", "/v1/checkout/sessions")
    decision_id = answer["decision_id"]
    assert call.idempotency_key == f"refunds-plugin:exchange:{decision_id}:checkout"
    assert call.params["mode"] == "payment"
    assert call.params["line_items"]["0"]["price_data"]["unit_amount"] == str(charge)
    assert call.params["line_items"]["0"]["price_data"]["currency"] == currency.lower()
    assert (session["amount_total"], session["metadata"]["decision_id"]) == (charge, decision_id)
    ex = answer["exchange"]
    assert (ex["status"], ex["charge"], ex["settled_as"], ex["checkout_url"]) == (
        "awaiting_payment", charge, "charge" if charge == dearer - unit else "waived+charge",
        session["url"])
    assert ex["lines"] == [{"line_id": "l1", "quantity": 1, "sku": "SHOE-43",
                            "name": "Trail shoe 43", "unit_amount": dearer, "variant_id": "v43"}]
    assert said in answer["explanation"]
    assert (answer["amount"], answer["attempts"]) == (0, [])
    assert again["duplicate"] and again["exchange"] == ex
    [row] = h.rows(exchanges)
    assert (row.charge_amount, row.checkout_session_id, row.status) == (
        charge, session["id"], "awaiting_payment")
    assert h.count(refund_attempts) == 0
    assert h.chain_problem() is None


def test_completion_settles_the_exchange_once_however_often_it_arrives(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    paid = fake_stripe.complete_session(cs_id)

    first = h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    replay = h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    resent = h.post_stripe(stripe_event("evt_cs_2", "checkout.session.completed", paid))

    assert first.json["note"] == f"exchange {decision_id} paid: waiting"
    assert replay.json["duplicate"] is True
    assert resent.json["note"] == f"exchange {decision_id}: payment already settled"
    [row] = h.rows(exchanges)
    assert (row.status, row.paid_at is not None) == ("waiting", True)
    assert [e.body for e in entries(h, "exchange_paid")] == [  # a live key's live session
        '{"amount":2500,"currency":"USD","livemode":true,"paid_at":"2026-11-24T12:00:00+00:00",'
        f'"payment_reference":"{paid["payment_intent"]}","status":"waiting"}}']
    # the parcel's arrival (issue 14's trigger) makes it ready, once: the policy buys no label,
    # so no carrier scan can come and its first_scan was decided as delivered
    assert row.ship_on == "delivered"
    with write_tx(h.runtime.engine) as conn:
        assert ship_on_reached(conn, decision_id, "delivered") is True
    with write_tx(h.runtime.engine) as conn:
        assert ship_on_reached(conn, decision_id, "inspected") is False
    assert h.runtime.exchanges is not None
    h.runtime.exchanges.run_once()
    [row] = h.rows(exchanges)
    assert (row.status, row.reached) == ("shipped", "delivered")
    assert h.count(refund_attempts) == 0
    assert h.chain_problem() is None


def test_a_payment_for_another_amount_settles_nothing(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    paid = {**fake_stripe.complete_session(cs_id), "amount_total": 100}

    said = h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid)).json

    assert said["note"] == (f"exchange {decision_id}: paid 1.00 USD, expected 25.00 USD: not "
                            "settled, a person must look")
    [row] = h.rows(exchanges)
    assert row.status == "awaiting_payment" and entries(h, "exchange_paid") == []


def test_an_expired_session_falls_back_to_the_refund_once(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    expired = fake_stripe.expire_session(cs_id)

    said = h.post_stripe(stripe_event("evt_cs_x", "checkout.session.expired", expired)).json
    h.post_stripe(stripe_event("evt_cs_y", "checkout.session.expired", expired))
    h.drain()

    [row] = h.rows(exchanges)
    assert row.status == "fallen_back" and row.fallback_decision_id is not None
    assert said["note"].startswith(f"exchange {decision_id}: checkout session expired; "
                                   f"exchange {decision_id} not paid: decided as refund instead")
    fallback = h.rows(decisions, id=row.fallback_decision_id)[0]
    assert (fallback.request_key, fallback.outcome, fallback.refund_amount) == (
        f"exchange-fallback:{decision_id}", "approve", 10000)
    [attempt] = h.rows(refund_attempts)
    assert (attempt.decision_id, attempt.status, attempt.amount) == (
        row.fallback_decision_id, "succeeded", 10000)
    assert fake_stripe.refunded("pi_123") == 10000
    # a completion arriving after the expiry settles nothing
    late = {**expired, "status": "complete", "payment_status": "paid"}
    h.post_stripe(stripe_event("evt_cs_late", "checkout.session.completed", late))
    assert h.rows(exchanges)[0].status == "fallen_back"
    assert h.chain_problem() is None


def test_concurrent_deliveries_of_one_request_make_one_exchange_and_one_session(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: h.post_storefront(swap()), range(4)))

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]  # one new, 3 seen
    assert len({a.json["decision_id"] for a in answers}) == 1
    assert h.count(exchanges) == 1 and h.count(decisions) == 1
    assert len(fake_stripe.checkout_sessions) == 1


def test_an_even_swap_moves_no_money_and_waits_for_the_return(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    answer = h.post_storefront(swap("SHOE-42", "Trail shoe 42", 10000)).json
    h.drain()

    assert answer["exchange"]["status"] == "waiting"
    assert answer["exchange"]["settled_as"] == "none"
    assert "The new item costs the same: nothing to pay, nothing back." in answer["explanation"]
    assert fake_stripe.checkout_sessions == {} and h.count(refund_attempts) == 0


@pytest.mark.parametrize(("currency", "dearer", "said"), [
    pytest.param("USD", 10030, "The new item costs 0.30 USD more; that is less than the "
                 "smallest amount we can charge by card (0.50 USD), so we waive it.", id="USD"),
    pytest.param("JPY", 10049, "The new item costs 49 JPY more; that is less than the smallest "
                 "amount we can charge by card (50 JPY), so we waive it.", id="JPY"),
])
def test_a_difference_below_stripes_minimum_charge_is_waived_with_no_checkout_session(
    policy_harness: Any, fake_stripe: FakeStripe, currency: str, dearer: int, said: str,
) -> None:
    h = shop(policy_harness, fake_stripe, currency, 10000, dearer)

    answer = h.post_storefront(swap(unit=dearer)).json
    h.drain()

    assert answer is not None
    ex = answer["exchange"]
    assert (ex["status"], ex["charge"], ex["waived"], ex["settled_as"], ex["checkout_url"]) == (
        "waiting", 0, dearer - 10000, "waived", None)
    assert said in answer["explanation"]
    assert fake_stripe.checkout_sessions == {}
    assert fake_stripe.calls_to("POST", "/v1/checkout/sessions") == []
    assert h.count(refund_attempts) == 0


def test_finance_counts_exchanges_as_sales_kept_with_the_revenue_they_retained(
    policy_harness: Any, fake_stripe: FakeStripe, clock: Any,
) -> None:
    from datetime import timedelta

    from refunds_plugin.finance.reports import find_decisions
    from refunds_plugin.finance.summary import summarize

    h = shop(policy_harness, fake_stripe)
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed",
                               fake_stripe.complete_session(cs_id)))

    summary = summarize(h.runtime.engine, clock.now - timedelta(days=1),
                        clock.now + timedelta(days=1), clock.now).to_json()
    [usd] = summary["totals"]
    assert (usd["exchanges"], usd["exchange_retained"], usd["exchange_charged"],
            usd["refunded"]) == (1, 10000, 2500, 0)
    kept = find_decisions(h.runtime.engine, {"exchange": "yes"}, 1, 50).rows
    assert [(r["id"], r["exchange"]) for r in kept] == [(decision_id, "charge")]
    assert find_decisions(h.runtime.engine, {"exchange": "no"}, 1, 50).rows == []


def test_an_exchange_sent_to_review_goes_ahead_once_a_person_approves_it(
    policy_harness: Any, fake_stripe: FakeStripe, clock: Any,
) -> None:
    from refunds_plugin.intake.reviews import decide

    late = POLICY.replace("window: {days: 60}", "window: {days: 10, start: payment, "
                          "outside: review}")
    h = policy_harness(late, return_addresses=(SHOP,))
    fake_stripe.add_payment_intent(10000, "USD", "pi_123")
    h.post_storefront(shoe_order("USD", 10000, 12500))
    answer = h.post_storefront(swap()).json
    assert (answer["outcome"], answer["exchange"]["status"]) == ("review", "not_started")
    assert h.count(exchanges) == 0 and fake_stripe.checkout_sessions == {}

    decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=True,
           by="ann", note="late but fine", now=clock.now)

    [row] = h.rows(exchanges)
    [session] = fake_stripe.checkout_sessions.values()
    assert (row.status, row.charge_amount, row.checkout_session_id) == (
        "awaiting_payment", 2500, session["id"])


def test_an_instant_exchange_with_a_difference_ships_once_paid_not_before(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = policy_harness(POLICY + "  ship_on: approval\n", **ANNOUNCED)
    fake_stripe.add_payment_intent(10000, "USD", "pi_123")
    h.post_storefront(shoe_order("USD", 10000, 12500))
    answer = h.post_storefront(swap()).json
    assert (answer["exchange"]["status"], answer["exchange"]["ship_on"]) == (
        "awaiting_payment", "approval")
    assert h.runtime.exchanges is not None
    h.runtime.exchanges.run_once()
    assert h.rows(exchanges)[0].status == "awaiting_payment"  # not shipped before it is paid
    assert [r.kind for r in h.rows(outbox) if r.kind.startswith("exchange.")] == [
        "exchange.approved"]

    [cs_id] = fake_stripe.checkout_sessions
    said = h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed",
                                      fake_stripe.complete_session(cs_id))).json
    assert said["note"] == f"exchange {answer['decision_id']} paid: ready"
    assert [(r.kind, r.cause) for r in h.rows(outbox) if r.kind.startswith("exchange.")] == [
        ("exchange.approved", f"exchange:{answer['decision_id']}"),
        ("exchange.ready_to_ship", f"exchange:{answer['decision_id']}")]
    h.runtime.exchanges.run_once()
    assert h.rows(exchanges)[0].status == "shipped"


def test_concurrent_completions_settle_once(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = shop(policy_harness, fake_stripe)
    h.post_storefront(swap())
    [cs_id] = fake_stripe.checkout_sessions
    paid = fake_stripe.complete_session(cs_id)
    events = [stripe_event(f"evt_cs_{i % 2}", "checkout.session.completed", paid)
              for i in range(6)]  # two event ids, each delivered three times, all at once

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(h.post_stripe, events))

    assert {a.status_code for a in answers} == {200}
    assert len(entries(h, "exchange_paid")) == 1
    [row] = h.rows(exchanges)
    assert row.status == "waiting"


def test_after_a_fallback_the_units_count_as_returned_once(
    policy_harness: Any, fake_stripe: FakeStripe, clock: Any,
) -> None:
    from refunds_plugin.ledger.facts import load_facts

    h = shop(policy_harness, fake_stripe)
    h.post_storefront(swap())
    [cs_id] = fake_stripe.checkout_sessions
    h.post_stripe(stripe_event("evt_cs_x", "checkout.session.expired",
                               fake_stripe.expire_session(cs_id)))
    with h.runtime.engine.connect() as conn:
        facts = load_facts(conn, "1001", clock.now)
    assert facts is not None and facts.returned_quantities == (("l1", 1),)


def test_asking_again_for_the_session_gets_the_same_one_from_stripe(
    fake_stripe: FakeStripe, stripe_server: Any,
) -> None:
    from refunds_plugin.errors import RetryableProviderError
    from refunds_plugin.providers.stripe import CheckoutRequest, StripeProvider, open_checkout

    provider = StripeProvider("sk_test_fake", api_base=stripe_server.url, max_network_retries=0)
    req = CheckoutRequest("d-1", "1001", 2340, "KWD", "difference", "https://shop.test/returns")
    fake_stripe.fail_next(1, status=500)
    with pytest.raises(RetryableProviderError):
        open_checkout(provider, req)

    first = open_checkout(provider, req)
    again = open_checkout(provider, req)

    assert first == again and len(fake_stripe.checkout_sessions) == 1
    calls = fake_stripe.calls_to("POST", "/v1/checkout/sessions")
    assert [(c.status, c.replayed) for c in calls] == [(500, False), (200, False), (200, True)]
    assert {c.idempotency_key for c in calls} == {"refunds-plugin:exchange:d-1:checkout"}


def test_a_dry_run_shop_offers_no_exchange_whose_difference_it_cannot_take(
    any_db_url: str, clock: Clock, tmp_path: Path,
) -> None:
    """No Stripe key: the order's money goes to the dry run, which opens no Checkout Session.
    The dearer swap is not promised "once you have paid": it is the refund the policy offers,
    said so, with no exchange row and no review."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    h = Harness(any_db_url, clock, settings={"policy": str(path)})  # no Stripe key: dry run
    try:
        assert h.post_storefront(shoe_order("USD", 10000, 12500)).status_code == 200
        answer = h.post_storefront(swap()).json
        h.drain()
        assert answer is not None
        assert answer["explanation"] == (
            "Your return of 1 × Trail shoe 41 is approved. Dry run: we would refund 100.00 USD "
            "to your original payment; no money moves. We can't exchange Trail shoe 41 for "
            "Trail shoe 43: it costs more, and we cannot take the difference for this order, so "
            "it comes back as a refund instead. Please send back: Trail shoe 41.")  # dry run
        assert "once you have paid" not in answer["explanation"]
        assert "exchange" not in answer
        assert h.rows(exchanges) == []
        assert h.rows(reviews) == []
        assert [(a.kind, a.provider, int(a.amount), a.status)
                for a in h.rows(refund_attempts)] == [("refund", "dryrun", 10000, "succeeded")]
        assert h.chain_problem() is None
    finally:
        h.close()
