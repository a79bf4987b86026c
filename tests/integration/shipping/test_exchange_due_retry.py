"""A paid original due given back, refused once by Stripe and paid again by a person's
approval: the retry (the next seq after ``REFUND_SEQ``) is still the original's payment given
back, never a refund of the sale, in every figure finance reads (summary JSON and CSV, the
summary and decision pages); the sale's own money paid again beside it is one."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.seal import settle
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import stripe_event
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_original_due import (
    charge,
    due,
    expired_instant_swap,
)

pytestmark = pytest.mark.usefixtures("erp")


def test_a_retried_refund_of_a_paid_original_is_no_refund_of_the_sale(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = expired_instant_swap(returns_service)
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid))
    # the original arrives after all: Stripe refuses the due's refund once
    r.stripe.fake.fail_next(1, status=400)
    r.track("evt_late", r.shipment().tracking_code, "in_transit")
    r.h.drain()
    assert sorted((a.seq, a.amount, a.status) for a in r.h.rows(refund_attempts)) == [
        (0, 1000, "canceled"), (900, 2000, "failed")]
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 0

    # a person accepts the late parcel: the 10.00 the shop kept and the 20.00 due, paid again
    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=True, by="Ada Admin",
           note="pay it again", now=r.h.clock())
    settle(r.h.runtime.engine)
    r.h.drain()
    assert sorted((a.seq, a.amount, a.status) for a in r.h.rows(refund_attempts)) == [
        (0, 1000, "canceled"), (1, 1000, "succeeded"), (900, 2000, "failed"),
        (901, 2000, "succeeded")]
    assert r.stripe.fake.refunded(paid["payment_intent"]) == 2000
    assert r.stripe.fake.refunded("pi_1001") == 1000
    assert due(r).status == "refunded"

    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    since = (r.h.clock() - timedelta(days=60)).date().isoformat()
    said = r.h.client().get(f"/api/summary?since={since}", headers=auth).json
    assert said is not None
    [usd] = said["totals"]
    # the sale's 10.00 is refunded; the 20.00 given back for the original is not
    assert {k: usd[k] for k in ("refunded", "credited", "exchanges", "exchange_retained",
                                "exchange_original_due", "exchange_original_paid")} == {
        "refunded": 1000, "credited": 0, "exchanges": 1, "exchange_retained": 2000,
        "exchange_original_due": 2000, "exchange_original_paid": 0}
    # the parcel's trigger never released the money (it came after the expiry): no promise
    # clock ran, and the due's refund weeks later is no missed promise
    assert (said["promise"]["returned"], said["promise"]["missed"]) == (0, 0)

    sheet = r.h.client().get(f"/api/summary?since={since}&format=csv", headers=auth)
    [row] = [x for x in csv.DictReader(io.StringIO(sheet.get_data(as_text=True)))
             if x["decisions"] == "1"]
    assert (row["refunded"], row["refunded_decimal"], row["exchange_original_due"],
            row["exchange_original_paid"]) == ("1000", "10.00", "2000", "0")

    page = r.h.client().get(f"/finance/decisions/{decision}", headers=auth)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert ('class="moved">10.00 USD canceled: nothing moved; 10.00 USD refunded through '
            "stripe; 20.00 USD failed: nothing moved; 20.00 USD refunded through stripe (the "
            "payment for the original not returned, given back: no refund of the sale)</dd>"
            ) in text
    assert text.count("refund (the payment for the original not returned, given back)") == 2
