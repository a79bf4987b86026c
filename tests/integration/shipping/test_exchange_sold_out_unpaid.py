"""A dearer exchange still waiting for the customer to pay its difference (a Checkout Session
open) that the storefront reports sold out: the exchange falls back as a sold-out one does
(the shirt's refund), its open session is expired at Stripe by the exchange worker, once, and
a payment that races in (before or while the link is expired) is given back exactly once,
through a refund attempt, never kept and never refunded twice."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import exchanges, outbox, refund_attempts
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import WORDS, sold_out
from tests.integration.shipping.test_exchange_out_of_stock_paid import SHIRT
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
LINK_GONE = ("The payment link for the price difference no longer works: you do not need to "
             "pay anything for it. If a payment went through all the same, we refund it to "
             "you.")


def awaiting(returns_service: Callable[..., Returns]) -> tuple[Returns, str, str]:
    """Shirt M (30.00) for Shirt XL (35.00): 5.00 to pay, its session open, unpaid."""
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    [row] = r.h.rows(exchanges)
    assert (row.status, row.charge_amount, row.checkout_session_id) == (
        "awaiting_payment", 500, cs_id)
    return r, decision, cs_id


def expire_calls(r: Returns, cs_id: str) -> int:
    return len(r.stripe.fake.calls_to("POST", f"/v1/checkout/sessions/{cs_id}/expire"))


def worker(r: Returns) -> None:
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.runtime.exchanges.run_once()  # a second round calls nothing more


def test_sold_out_while_awaiting_payment_falls_back_and_expires_the_link_once(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision, cs_id = awaiting(returns_service)

    resp = sold_out(r, "sf_so_1", decision, ["SHIRT-XL"])

    assert resp.status_code == 200, resp.get_data(as_text=True)
    [row] = r.h.rows(exchanges)
    assert (row.status, row.last_error, row.paid_at, row.checkout_status) == (
        "fallen_back", "out_of_stock: the storefront has no SHIRT-XL left to ship", None,
        "expiring")
    body = resp.get_json()
    assert body["exchange"] == {"status": "fallen_back",
                                "fallback_decision_id": row.fallback_decision_id}
    assert body["note"] == (
        f"exchange {decision} out of stock: decided as refund instead "
        f"({row.fallback_decision_id}); its unpaid payment link ({cs_id}) will be expired")
    assert expire_calls(r, cs_id) == 0  # not in the request: by the worker, retried

    worker(r)
    r.h.drain()

    assert expire_calls(r, cs_id) == 1
    assert r.stripe.fake.checkout_sessions[cs_id]["status"] == "expired"
    [row] = r.h.rows(exchanges)
    assert (row.status, row.checkout_status, row.paid_at) == ("fallen_back", "expired", None)
    assert [b for t, b in r.journal("exchange_checkout_expired")] == [
        {"checkout_session_id": cs_id, "checkout_status": "expired"}]
    # the shirt's refund (waiting, as the exchange did, for the shirt to come back), and
    # nothing for a difference nobody paid
    assert [(a.decision_id, a.amount, a.status) for a in r.h.rows(refund_attempts)] == [
        (row.fallback_decision_id, 3000, "held")]
    assert r.stripe.fake.refunds == []
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    renderer = r.h.runtime.renderer
    assert renderer is not None
    said = renderer.render("exchange_unavailable", json.loads(mail.context))
    assert said.text.startswith(
        "We are sorry: Shirt XL went out of stock before we could send it, so we cannot make "
        "your exchange.\nInstead, we are refunding 30.00 USD to your original payment.\n"
        f"{LINK_GONE}\nNothing else will be sent to you for this exchange.\n")
    page = " ".join(r.status_page(decision).split())
    assert WORDS in page
    assert LINK_GONE in page
    assert r.stripe.fake.checkout_sessions[cs_id]["url"] not in page  # no link left to pay
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    shown = r.h.client().get(f"/finance/decisions/{decision}",
                             headers={"Authorization": f"Bearer {token}"})
    assert ("<dt>Payment link</dt><dd>expired at Stripe (the exchange ended unpaid)</dd>"
            in shown.get_data(as_text=True))
    assert r.h.chain_problem() is None


def test_a_payment_made_before_the_link_is_expired_is_refunded_exactly_once(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision, cs_id = awaiting(returns_service)
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-XL"]).status_code == 200
    paid = r.stripe.fake.complete_session(cs_id)  # the customer pays meanwhile

    worker(r)  # Stripe refuses to expire a paid session: it reads back "complete"
    first = r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    replay = r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    again = r.h.post_stripe(stripe_event("evt_cs_2", "checkout.session.completed", paid))
    r.h.drain()
    worker(r)

    assert expire_calls(r, cs_id) == 1
    assert first.json["note"] == (
        f"exchange {decision} had ended (fallen_back) when its difference of 5.00 USD was "
        "paid: the 5.00 USD is refunded")
    assert replay.json["duplicate"] is True
    assert again.json["note"] == f"exchange {decision}: payment already settled"
    [row] = r.h.rows(exchanges)
    assert (row.status, row.checkout_status, row.payment_reference) == (
        "fallen_back", "paid", paid["payment_intent"])
    refund = [a for a in r.h.rows(refund_attempts) if a.decision_id == decision]
    assert [(a.kind, a.amount, a.status, a.payment_reference) for a in refund] == [
        ("refund", 500, "succeeded", paid["payment_intent"])]
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 500
    assert r.stripe.fake.refunded("pi_1001") == 0  # the shirt's waits for the shirt
    assert [b["amount"] for _, b in r.journal("exchange_difference_refunded")] == [500]
    assert ("We are also refunding the 5.00 USD you paid for the difference to the card you "
            "paid it with.") in " ".join(r.status_page(decision).split())
    assert r.h.chain_problem() is None


def test_a_payment_that_arrives_before_the_worker_round_is_refunded_and_nothing_is_expired(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision, cs_id = awaiting(returns_service)
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-XL"]).status_code == 200
    paid = r.stripe.fake.complete_session(cs_id)

    r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    worker(r)
    r.h.drain()

    assert expire_calls(r, cs_id) == 0
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 500
    assert len([c for c in r.stripe.fake.calls_to("POST", "/v1/refunds")
                if c.params.get("payment_intent") == paid["payment_intent"]]) == 1
