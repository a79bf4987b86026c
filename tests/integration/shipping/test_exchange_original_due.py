"""An instant exchange whose original never came back: its value becomes due, once. On a
Stripe shop one Checkout Session for exactly that amount (its own idempotency key), its link
in one email and on the status page; its completion settles it once however often Stripe says
so; the original's first scan after all expires an unpaid link or refunds a paid one through a
refund attempt. A shop with no card through us gets the event and a follow-up, and no Stripe
call."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.attempts import transition
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import (
    exchange_dues,
    exchanges,
    follow_ups,
    orders,
    outbox,
    refund_attempts,
)
from refunds_plugin.notify.links import status_token
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")

MAIL = {"mail_from": "Shirts <returns@shirts.example>", "shop_name": "Shirts"}


def expired_instant_swap(returns_service: Callable[..., Returns], smtp: SmtpSink | None = None,
                         provider: str = "stripe", policy: str = POLICY,
                         **more: Any) -> tuple[Returns, str]:
    """Shirt M (30.00) for Shirt S (20.00), shipped at approval; the 10.00 back waits for the
    parcel, which never comes: 38 days on the sweep expires the return. ``more``: settings."""
    settings = {**ANNOUNCED, **MAIL, "mail_url": smtp.url} if smtp else ANNOUNCED
    settings = {**settings, **more}
    r = returns_service(policy + "  ship_on: approval\n", **settings)
    if provider == "stripe":
        r.paid(lines=SHIRT, shipping=0)
    else:  # a Saleor shop's order, paid through Saleor: the only payment not taken by card
        r.paid(lines=SHIRT, shipping=0, provider=provider)
        with write_tx(r.h.runtime.engine) as conn:
            conn.execute(update(orders).values(source="saleor"))
    decision = r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"]
    r.labels()
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()  # the deadline sweep
    r.labels()  # a second round records nothing more
    return r, decision


def status_page(r: Returns, decision: str) -> str:
    token = status_token(r.h.app.config["SECRET_KEY"], decision)
    page = r.h.client().get(f"/returns/status/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def charge(r: Returns) -> None:
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.runtime.exchanges.run_once()  # a second round makes nothing more


def due(r: Returns) -> Any:
    [row] = r.h.rows(exchange_dues)
    return row


def test_the_expiry_opens_one_session_and_one_email_for_exactly_the_original_left_due(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision = expired_instant_swap(returns_service, smtp)
    charge(r)
    r.h.drain()

    # 30.00 for the original, less the 10.00 back the shop kept (canceled): 20.00 due
    assert r.attempts() == [("refund", 1000, "canceled")]
    [session] = r.stripe.fake.checkout_sessions.values()
    [call] = r.stripe.fake.calls_to("POST", "/v1/checkout/sessions")
    assert call.idempotency_key == f"refunds-plugin:exchange:{decision}:original-due"
    assert call.params["line_items"]["0"]["price_data"]["unit_amount"] == "2000"
    assert (session["amount_total"], session["currency"], session["metadata"]["purpose"]) == (
        2000, "usd", "original_due")
    row = due(r)
    assert (row.status, row.amount, row.currency, row.checkout_session_id, row.checkout_url) == (
        "open", 2000, "USD", session["id"], session["url"])
    assert r.h.rows(exchanges)[0].original_due == 2000
    assert [b for _, b in r.journal("exchange_due")] == [
        {"amount": 2000, "currency": "USD", "status": "charging"}]
    [mail] = [m for m in smtp.received if "has not arrived" in m.subject]
    assert mail.subject == "Your exchange for order 1001: the original item has not arrived"
    text = mail.part("plain")
    assert "We sent your exchange before your original item came back:\n- 1 × Shirt S\n" in text
    assert "Its value of 20.00 USD is now due. You can pay it here: " + session["url"] in text
    assert ("If you send the original item back instead, that still settles it: an unpaid "
            "link is cancelled, and a payment already made is refunded.") in text
    assert "The original item did not arrive by 24 December 2026. " in text  # grace: 7 days
    assert [row.kind for row in r.h.rows(outbox) if row.kind == "exchange_original_due"] == [
        "exchange_original_due"]
    assert r.h.rows(follow_ups) == []
    assert r.stripe.fake.refunds == []
    assert r.h.chain_problem() is None


def test_the_payment_settles_the_due_once_however_often_stripe_says_so(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    page = status_page(r, decision)
    assert ("The original item did not arrive by the return-by date. Its value of 20.00 USD "
            "is now due. Sending it back still settles it.") in page
    assert (f'<a class="button" href="{r.stripe.fake.checkout_sessions[cs_id]["url"]}" '
            'rel="noopener">Pay 20.00 USD for the original item</a>') in page
    paid = r.stripe.fake.complete_session(cs_id)

    first = r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid))
    replay = r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid))
    resent = r.h.post_stripe(stripe_event("evt_due_2", "checkout.session.completed", paid))

    assert first.json["note"] == f"exchange {decision}: original due paid (20.00 USD)"
    assert replay.json["duplicate"] is True
    assert resent.json["note"] == f"exchange {decision}: original due already settled"
    row = due(r)
    assert (row.status, row.paid_amount, row.payment_reference) == (
        "paid", 2000, paid["payment_intent"])
    assert [b["amount"] for _, b in r.journal("exchange_due_paid")] == [2000]
    page = status_page(r, decision)
    assert "You paid 20.00 USD for the original item. Thank you." in page
    assert "Pay 20.00 USD for the original item" not in page
    # the exchange itself is untouched (it had shipped)
    assert r.h.rows(exchanges)[0].status == "shipped"
    assert r.h.chain_problem() is None


def test_a_first_scan_after_the_payment_refunds_exactly_what_was_paid_once(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid))
    code = r.shipment().tracking_code

    assert r.track("evt_late", code, "in_transit").status_code == 200
    assert r.track("evt_late_2", code, "out_for_delivery").status_code == 200
    r.h.drain()

    row = due(r)
    assert row.status == "refunded" and row.refund_attempt_id is not None
    assert r.attempts() == [("refund", 1000, "canceled"), ("refund", 2000, "succeeded")]
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 2000
    assert r.stripe.fake.refunded("pi_1001") == 0
    assert [b for _, b in r.journal("exchange_due_refunded")] == [
        {"amount": 2000, "status": "refunded", "refund_attempt_id": row.refund_attempt_id}]
    assert r.h.chain_problem() is None


def test_a_first_scan_before_the_payment_expires_the_link_and_charges_nothing(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    code = r.shipment().tracking_code

    assert r.track("evt_late", code, "in_transit").status_code == 200
    assert due(r).status == "expiring"
    charge(r)  # the worker expires it at Stripe

    assert r.stripe.fake.checkout_sessions[cs_id]["status"] == "expired"
    assert len(r.stripe.fake.calls_to("POST", f"/v1/checkout/sessions/{cs_id}/expire")) == 1
    row = due(r)
    assert (row.status, row.paid_amount) == ("canceled", None)
    # a completion can no longer come; Stripe would refuse to complete an expired session
    assert r.stripe.fake.complete_session(cs_id)["status"] == "expired"
    r.h.drain()
    assert r.attempts() == [("refund", 1000, "canceled")]
    assert r.stripe.fake.refunds == []
    assert r.h.chain_problem() is None


@pytest.mark.parametrize("provider", ["saleor"])  # a storefront may name only stripe or saleor
def test_a_shop_without_a_card_through_us_gets_the_event_and_a_follow_up_and_no_stripe_call(
    returns_service: Callable[..., Returns], provider: str,
) -> None:
    r, decision = expired_instant_swap(returns_service, provider=provider)
    charge(r)

    row = due(r)
    assert (row.status, row.amount, row.checkout_session_id) == ("owed", 2000, None)
    [event] = [o for o in r.h.rows(outbox) if o.kind == "exchange.original_due"]
    assert json.loads(event.context)["original_due"] == 2000
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.subject, f.amount, f.currency, f.status) == (
        "exchange_original_due", decision, 2000, "USD", "open")
    assert "20.00 USD is due from the customer" in f.detail
    assert r.stripe.fake.calls_to("POST", "/v1/checkout/sessions") == []
    assert [o for o in r.h.rows(outbox) if o.kind == "exchange_original_due"] == []
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    listed = r.h.client().get("/finance/follow-ups",
                              headers={"Authorization": f"Bearer {token}"})
    text = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert (f'original not returned: <a href="/finance/decisions/{decision}">instant exchange '
            f"{decision}</a>") in text
    assert "20.00 USD" in text
    # the original arrives after all: nothing is owed, the follow-up is cleared
    assert r.track("evt_late", r.shipment().tracking_code, "in_transit").status_code == 200
    assert due(r).status == "canceled"
    assert r.h.rows(follow_ups)[0].status == "cleared"


def test_finance_shows_what_is_due_and_paid_and_a_refund_of_it_is_no_refund_of_a_sale(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    charge(r)
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    since = (r.h.clock() - timedelta(days=60)).date().isoformat()

    def figures() -> tuple[int, int, int, int, int]:
        said = r.h.client().get(f"/api/summary?since={since}", headers=auth).json
        assert said is not None
        [usd] = said["totals"]
        return (usd["exchanges"], usd["exchange_retained"], usd["exchange_original_due"],
                usd["exchange_original_paid"], usd["refunded"])

    # sales kept: 30.00 less the 10.00 back = 20.00 retained, as before; 20.00 due, unpaid
    assert figures() == (1, 2000, 2000, 0, 0)
    page = r.h.client().get(f"/finance/decisions/{decision}", headers=auth)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Original not returned (instant exchange)" in text
    assert "<dt>Due from the customer</dt><dd>20.00 USD</dd>" in text
    assert "payment link sent, not paid" in text

    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid))
    assert figures() == (1, 2000, 2000, 2000, 0)
    text = r.h.client().get(f"/finance/decisions/{decision}", headers=auth).get_data(as_text=True)
    assert f"<dt>Charged</dt><dd>20.00 USD ({paid['payment_intent']})</dd>" in text
    summary = r.h.client().get(f"/finance/summary?since={since}", headers=auth)
    assert ('originals not returned: <span class="nb">20.00 USD</span> due, <span class="nb">'
            '20.00 USD</span> paid') in summary.get_data(as_text=True)

    # the original arrives after all: the payment goes back, and is no refund of the sale
    r.track("evt_late", r.shipment().tracking_code, "in_transit")
    r.h.drain()
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 2000
    assert figures() == (1, 2000, 2000, 0, 0)


def test_a_session_stripe_could_not_make_is_tried_again_after_a_wait_and_made_once(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    r.stripe.fake.fail_next(1, status=500)
    charge(r)  # fails; the second round is too soon to try again

    calls = r.stripe.fake.calls_to("POST", "/v1/checkout/sessions")
    assert [c.status for c in calls] == [500]  # one try (the harness turns client retries off)
    row = due(r)
    assert (row.status, row.tries, row.checkout_session_id) == ("charging", 1, None)
    assert [o for o in r.h.rows(outbox) if o.kind == "exchange_original_due"] == []

    r.h.clock.advance(60)
    charge(r)
    row = due(r)
    assert (row.status, row.tries, row.amount) == ("open", 0, 2000)
    assert len(r.stripe.fake.checkout_sessions) == 1
    assert len([o for o in r.h.rows(outbox) if o.kind == "exchange_original_due"]) == 1


def test_a_session_stripe_refuses_for_good_is_failed_for_a_person_at_once(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    r.stripe.fake.fail_next(1, status=400)
    charge(r)
    r.h.clock.advance(3600)
    charge(r)  # never tried again

    assert [c.status for c in r.stripe.fake.calls_to("POST", "/v1/checkout/sessions")] == [400]
    row = due(r)
    assert (row.status, row.checkout_session_id) == ("failed", None)
    assert row.last_error
    assert [o for o in r.h.rows(outbox) if o.kind == "exchange_original_due"] == []
    assert [b["status"] for _, b in r.journal("exchange_due_failed")] == ["failed"]


def test_a_cheaper_difference_paid_back_clamped_leaves_due_only_what_the_shop_kept(
    returns_service: Callable[..., Returns],
) -> None:
    """The 10.00 back for the cheaper item was paid out early (a person approved it) and
    Saleor clamped it to 7.00: the shop kept 3.00 of it, so 27.00 is due, not 30.00."""
    r = returns_service(POLICY + "  ship_on: approval\n", **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0, provider="saleor")
    with write_tx(r.h.runtime.engine) as conn:
        conn.execute(update(orders).values(source="saleor"))
    r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))
    [held] = r.h.rows(refund_attempts)
    assert (held.amount, held.status) == (1000, "held")
    with write_tx(r.h.runtime.engine) as conn:  # what the executor records of such a refund
        assert transition(conn, held.id, "succeeded", r.h.clock(), expect=("held",),
                          sent_amount=700, provider_reference="refund-clamped")
    r.labels()
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()  # the deadline sweep

    row = due(r)
    assert (row.status, row.amount) == ("owed", 2700)
    assert r.h.rows(exchanges)[0].original_due == 2700
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.amount) == ("exchange_original_due", 2700)
