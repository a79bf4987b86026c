"""A dearer exchange whose difference the customer paid, then sold out before it shipped: the
shirt comes back as the refund, and the difference they paid is refunded too, once, to the
card that paid it (a refund attempt of the exchange's decision: ``exchanges/difference``); the
customer is told so by email and on the status page, not only of the refund for the shirt."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import exchanges, follow_ups, outbox, refund_attempts, reviews
from refunds_plugin.notify.preview import preview
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
SHIRT = [{"id": "l1", "sku": "SHIRT-M", "name": "Shirt M", "quantity": 1, "unit_amount": 3000,
          "variants": [{"sku": "SHIRT-XL", "name": "Shirt XL", "unit_amount": 3500,
                        "in_stock": True, "variant_id": "vXL"}]}]
PAID_BACK = ("We are also refunding the 5.00 USD you paid for the difference to the card you "
             "paid it with.")


def test_the_difference_paid_for_a_sold_out_item_is_said_to_come_back_too(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    assert r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed",
                                        paid)).status_code == 200
    r.h.drain()

    resp = sold_out(r, "sf_so_1", decision, ["SHIRT-XL"])
    r.h.drain()

    assert resp.status_code == 200
    [row] = r.h.rows(exchanges)
    assert (row.status, row.charge_amount, row.paid_at is not None) == ("fallen_back", 500, True)
    assert resp.get_json()["note"].endswith(
        f"({row.fallback_decision_id}); the 5.00 USD paid for the difference is refunded")
    # the shirt's 30.00 (waiting for the shirt), and the 5.00 to the card that paid it
    assert sorted((a.decision_id, a.amount, a.payment_reference, a.status)
                  for a in r.h.rows(refund_attempts)) == sorted([
        (row.fallback_decision_id, 3000, "pi_1001", "held"),
        (decision, 500, paid["payment_intent"], "succeeded")])
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 500
    assert r.h.rows(reviews) == []  # nothing left for a person
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    renderer = r.h.runtime.renderer
    assert renderer is not None
    said = renderer.render("exchange_unavailable", json.loads(mail.context))
    assert said.text.startswith(
        "We are sorry: Shirt XL went out of stock before we could send it, so we cannot make "
        "your exchange.\nInstead, we are refunding 30.00 USD to your original payment.\n"
        f"{PAID_BACK}\nNothing else will be sent to you for this exchange.\n")
    assert PAID_BACK in " ".join(r.status_page(decision).split())
    # finance's preview of it is the email as it was recorded, not a made-up one with no item
    shown = preview(r.h.runtime.engine, renderer, "exchange_unavailable", decision, r.h.clock())
    assert (shown.rendered.text, shown.example) == (said.text, False)


def test_a_paid_difference_with_no_payment_recorded_goes_to_a_person_with_its_amount(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))
    with write_tx(r.h.runtime.engine) as conn:  # paid before revision 0035, no event kept
        conn.execute(update(exchanges).values(payment_reference=None))

    assert sold_out(r, "sf_so_1", decision, ["SHIRT-XL"]).status_code == 200
    r.h.drain()

    assert [a.amount for a in r.h.rows(refund_attempts)] == [3000]  # the shirt's only
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 0
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.subject, f.amount, f.status) == (
        "exchange_difference_paid", decision, 500, "open")
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    assert json.loads(mail.context)["difference_paid"] == 500
    assert ("We are also refunding the 5.00 USD you paid for the difference; a person on our "
            "team is arranging it.") in " ".join(r.status_page(decision).split())
