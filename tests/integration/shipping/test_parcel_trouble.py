"""A return a person must look at is put in front of one: a label still not bought after every
try (the customer was told one is on its way), and a parcel the carrier reports failed or sends
back to the customer (the status page says "our team will be in touch"). Each opens one
follow-up on ``/finance/follow-ups`` naming the return; no money moves."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import follow_ups
from tests.integration.shipping.conftest import Returns
from webhooks.returns.views import status_token

DELIVERED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def _page_in(r: Returns, decision_id: str, language: str) -> str:
    with r.h.app.test_request_context():
        url = url_for("returns.status", token=status_token(decision_id))
    resp = r.h.client().get(url, headers={"Accept-Language": language})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _follow_ups(r: Returns) -> list[tuple[str, str, str, str]]:
    return [(f.kind, f.subject, f.status, f.detail) for f in r.h.rows(follow_ups)]


def test_a_parcel_sent_back_to_the_customer_tells_a_person_once_and_moves_no_money(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(DELIVERED)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    code = r.shipment().tracking_code
    assert r.track("evt_1", code, "in_transit").status_code == 200
    assert r.track("evt_2", code, "return_to_sender").status_code == 200
    assert r.track("evt_3", code, "return_to_sender").status_code == 200  # said again

    assert _follow_ups(r) == [
        (
            "parcel_problem",
            decision,
            "open",
            f"Return {decision} of order 1001: the carrier is sending the parcel back to the "
            f"customer (tracking {code}). The customer was told our team will be in touch; the "
            "money held for the parcel stays held until a person decides.",
        )
    ]
    assert "our team will be in touch" in r.status_page(decision)
    assert r.attempts() == [("refund", 2500, "held")]
    r.h.drain()
    assert r.stripe.fake.refunds == []
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    listed = r.h.client().get("/api/follow-ups", headers=auth).get_json()["data"]
    assert [(d["kind"], d["decision_id"], d["status"]) for d in listed] == [
        ("parcel_problem", decision, "open")
    ]
    page = r.h.client().get("/finance/follow-ups", headers=auth).get_data(as_text=True)
    assert f'parcel problem: <a href="/finance/?order=1001">return {decision}</a>' in page

    # the parcel reaches the shop after all: its receipt clears the follow-up
    r.h.runtime.service.receive(decision, {"l1": ("as_new", None, False)}, "dock")
    assert [f.status for f in r.h.rows(follow_ups)] == ["cleared"]


def test_a_carrier_failure_tells_a_person(returns_service: Callable[..., Returns]) -> None:
    r = returns_service(DELIVERED)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    code = r.shipment().tracking_code
    assert r.track("evt_1", code, "failure").status_code == 200

    assert _follow_ups(r) == [
        (
            "parcel_problem",
            decision,
            "open",
            f"Return {decision} of order 1001: the carrier reports a failure delivering the "
            f"parcel (tracking {code}). The customer was told our team will look into it; the "
            "money held for the parcel stays held until a person decides.",
        )
    ]
    assert r.attempts() == [("refund", 2500, "held")]


def test_a_label_still_not_bought_after_every_try_tells_a_person(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(DELIVERED, executor_max_tries=2)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.easypost.fake.fail_next = [503, 503]

    assert r.labels() == 0
    r.h.clock.advance(3600)
    assert r.labels() == 0

    row = r.shipment()
    assert (row.status, row.label_status) == ("instructions", "failed")
    assert r.easypost.fake.bought == []
    [(kind, subject, status, detail)] = _follow_ups(r)
    assert (kind, subject, status) == ("label_failed", decision, "open")
    assert detail.startswith(
        f"Return {decision} of order 1001: no prepaid label after every try ("
        "EasyPost shipment look-up: "
    )
    assert detail.endswith(
        "). The customer was told a label was on its way and now has the return address and "
        "return-by date only; send them a label or tell them to post it themselves."
    )

    # the page no longer promises the label, and says what happens instead
    en, de = _page_in(r, decision, "en"), _page_in(r, decision, "de")
    assert "Your prepaid label is on its way" not in en
    assert (
        '<p class="notice label-failed">We could not get a prepaid label for your parcel. '
        "Our team will be in touch; you can also send it yourself to the address shown "
        "here.</p>"
    ) in en
    assert (
        '<p class="notice label-failed">Wir konnten kein frankiertes Etikett für Ihr Paket '
        "bekommen. Unser Team meldet sich bei Ihnen; Sie können es auch selbst an die hier "
        "angegebene Adresse senden.</p>"
    ) in de
    assert "1 Dock Rd" in en and "1 Dock Rd" in de

    r.h.clock.advance(3600)
    r.labels()  # a later round neither buys nor opens a second one
    assert len(_follow_ups(r)) == 1 and r.easypost.fake.bought == []


def test_a_delivered_after_the_parcel_was_sent_back_pays_nothing_until_it_reaches_us(
    returns_service: Callable[..., Returns],
) -> None:
    """Sent back to the customer, a later "delivered" is a delivery to them as likely as to
    us: the money waits for the warehouse's receipt, and the page does not say it reached us."""
    r = returns_service(DELIVERED)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    code = r.shipment().tracking_code
    for n, status in enumerate(("in_transit", "return_to_sender", "in_transit", "delivered")):
        assert r.track(f"evt_{n}", code, status).status_code == 200

    assert r.shipment().status == "return_to_sender"
    page = r.status_page(decision)
    assert "The carrier is sending it back to you; our team will be in touch." in page
    assert "Delivered to us" not in page
    assert r.attempts() == [("refund", 2500, "held")]
    r.h.drain()
    assert r.stripe.fake.refunds == []

    r.h.runtime.service.receive(decision, {"l1": ("as_new", None, False)}, "dock")
    assert r.attempts()[0][2] != "held"  # the receipt is what releases it


FEE_POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, paid_by: customer, fee: "4.00", return_by_days: 30,
                  carriers: [DHL]}
"""


def test_no_label_after_a_deducted_label_fee_tells_a_person_the_fee_is_given_back(
    returns_service: Callable[..., Returns],
) -> None:
    """No allowed carrier has a rate: the customer, promised a label and charged 4.00 USD for
    it, posts the parcel themselves; a person is told to send them a label, and that the fee
    is given back by itself (``test_label_fee_given_back``)."""
    r = returns_service(FEE_POLICY)
    r.paid()
    answer = r.ask(lines=MUG)
    assert answer["refund_amount"] == 2100  # 25.00 less the 4.00 label fee

    r.labels()

    row = r.shipment()
    assert (row.status, row.label_status, row.label_fee) == ("instructions", "no_label", 400)
    assert _follow_ups(r) == [
        (
            "label_failed",
            answer["decision_id"],
            "open",
            f"Return {answer['decision_id']} of order 1001: no prepaid label (No allowed "
            "carrier offers a rate for this parcel.). The customer was told a label was on its "
            "way and now has the return address and return-by date only; send them a label or "
            "tell them to post it themselves. The 4.00 USD label fee deducted from their refund "
            "is being given back to them, to the payment their refund went to: nothing to do "
            "for it.",
        )
    ]
    assert r.easypost.fake.bought == []
