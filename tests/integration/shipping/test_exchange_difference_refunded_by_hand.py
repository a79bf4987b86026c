"""A paid difference no refund attempt can name (an ``exchange_difference_paid`` follow-up) is
refunded at Stripe by a person, who says so on the follow-ups page or the API, as an admin, as
the other follow-ups are cleared: once, journalled with who, the follow-up cleared; a second
submit, a finance reader and an unknown exchange record nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import exchanges, follow_ups, ledger_entries, refund_attempts
from tests.fakes import stripe_event
from tests.fakes.finance_scene import csrf
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_declined_difference_paid import (
    failed_after_payment,
)
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_out_of_stock_paid import SHIRT
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
ENTRY = "exchange_difference_by_hand"


def _paid_unrecorded(returns_service: Callable[..., Returns]) -> tuple[Returns, str]:
    """Shirt M (30.00) for Shirt XL (35.00): the 5.00 difference paid before its PaymentIntent
    was recorded, then sold out: the follow-up names 5.00 for a person."""
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    with write_tx(r.h.runtime.engine) as conn:
        conn.execute(update(exchanges).values(payment_reference=None))
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-XL"]).status_code == 200
    r.h.drain()
    return r, decision


def _login(r: Returns, name: str, role: str) -> FlaskClient:
    token = create_token(r.h.runtime.engine, name, role, r.h.clock())
    client = r.h.client()
    resp = client.post("/finance/login", data={"token": token.secret,
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 303
    return client


def _entries(r: Returns, decision: str) -> list[dict[str, Any]]:
    with r.h.runtime.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(select(ledger_entries.c.body).where(
            ledger_entries.c.entry_type == ENTRY, ledger_entries.c.subject_id == decision))
            .scalars()]


def test_a_person_marks_the_paid_difference_refunded_once_and_its_follow_up_is_cleared(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _paid_unrecorded(returns_service)
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.amount, f.status) == ("exchange_difference_paid", 500, "open")
    action = f'action="/finance/exchanges/{decision}/difference-refunded"'
    reader = _login(r, "Fin", "finance")
    assert action not in reader.get("/finance/follow-ups").get_data(as_text=True)
    refused = reader.post(f"/finance/exchanges/{decision}/difference-refunded",
                          data={"csrf_token": csrf(reader, "/finance/follow-ups")})
    assert refused.status_code == 403
    admin = _login(r, "Ada", "admin")
    listed = admin.get("/finance/follow-ups").get_data(as_text=True)
    assert action in listed and "Mark refunded in Stripe</button>" in listed
    r.h.clock.advance(600)
    attempts = r.h.rows(refund_attempts)

    def mark() -> Any:
        return admin.post(f"/finance/exchanges/{decision}/difference-refunded",
                          data={"csrf_token": csrf(admin, "/finance/follow-ups")})

    resp = mark()

    assert (resp.status_code, resp.headers["Location"]) == (303, "/finance/follow-ups")
    page = re.sub(r"\s+", " ", admin.get("/finance/follow-ups").get_data(as_text=True))
    assert (f"The paid difference (5.00 USD) of exchange {decision} (order 1001) is recorded as "
            "refunded by hand; its follow-up is cleared.") in page
    [f] = r.h.rows(follow_ups)
    assert (f.status, f.cleared_at is not None) == ("cleared", True)
    assert _entries(r, decision) == [{"by": "Ada (token #2)", "amount": 500, "currency": "USD",
                                      "order_id": "1001"}]
    # nothing moved here: the person refunded it at Stripe
    assert r.h.rows(refund_attempts) == attempts
    assert r.h.chain_problem() is None

    again = mark()  # a double click: nothing more is recorded
    assert again.status_code == 409
    assert (f"Nothing was recorded: the paid difference of exchange {decision} is recorded as "
            "refunded already.") in again.get_data(as_text=True)
    assert len(_entries(r, decision)) == 1


def test_the_api_marks_it_refunded_once_for_an_admin_only(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _paid_unrecorded(returns_service)
    path = f"/api/exchanges/{decision}/difference-refunded"

    def call(role: str, where: str = path) -> Any:
        token = create_token(r.h.runtime.engine, "Bot", role, r.h.clock()).secret
        return r.h.client().post(where, headers={"Authorization": f"Bearer {token}"})

    assert call("finance").status_code == 403
    assert _entries(r, decision) == []
    done = call("admin")
    assert (done.status_code, done.get_json()) == (200, {
        "decision_id": decision, "order_id": "1001", "status": "refunded_by_hand",
        "refunded_by": "Bot (token #2)", "currency": "USD", "amount": 500,
        "refunded_at": done.get_json()["refunded_at"], "follow_up_cleared": True})
    again = call("admin")
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_cleared")
    unknown = call("admin", "/api/exchanges/nope/difference-refunded")
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (
        404, "unknown_follow_up")
    assert len(_entries(r, decision)) == 1


def test_a_declined_exchange_difference_refunded_by_hand_is_no_longer_counted_as_charged(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision, _paid = failed_after_payment(returns_service, smtp)
    with write_tx(r.h.runtime.engine) as conn:  # paid before revision 0035, no event kept
        conn.execute(update(exchanges).values(payment_reference=None))
    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="no more shirts", customer_note="Sorry.", now=r.h.clock())
    r.h.drain()
    admin = _login(r, "Ada", "admin")
    since = (r.h.clock() - timedelta(days=2)).date().isoformat()

    def charged() -> int:
        said = admin.get(f"/api/summary?since={since}").get_json()
        [usd] = said["totals"]
        assert usd["refunded"] == 0
        return int(usd["exchange_charged"])

    assert charged() == 500  # paid and still with the shop, until a person refunds it
    resp = admin.post(f"/finance/exchanges/{decision}/difference-refunded",
                      data={"csrf_token": csrf(admin, "/finance/follow-ups")})
    assert resp.status_code == 303
    assert charged() == 0
    assert r.h.rows(refund_attempts) == []
    page = admin.get(f"/finance/decisions/{decision}").get_data(as_text=True)
    assert ("<dt>Difference paid</dt><dd>5.00 USD (PaymentIntent not recorded): refunded (by "
            "hand in Stripe, by Ada (token #1))</dd>") in page
