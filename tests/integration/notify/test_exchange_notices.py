"""Exchanges through the outbox: ``exchange.approved`` and ``exchange.ready_to_ship`` reach the
merchant's systems signed with Standard Webhooks (checked with the package's own verifier), each
once; the customer's ``approved`` email of an exchange with a difference to pay waits for the
Checkout Session and carries its link; an exchange that cannot go ahead is put in front of a
person in the review queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import exchanges, ledger_entries, outbox, reviews
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

ANN = "ann@example.com"
POLICY = """currency: USD
window: {days: 60}
resolution: {allow: [refund, credit, exchange]}
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: charge}
"""
SHOES = [{"id": "l1", "sku": "SHOE-41", "name": "Trail shoe 41", "quantity": 1,
          "unit_amount": 10000, "variants": [
              {"sku": "SHOE-43", "name": "Trail shoe 43", "unit_amount": 12500, "in_stock": True,
               "variant_id": "v43"},
              {"sku": "SHOE-42", "name": "Trail shoe 42", "unit_amount": 10000, "in_stock": True,
               "variant_id": "v42"}]}]


def swap(sku: str, name: str, unit: int) -> dict[str, Any]:
    return return_requested(lines=[{
        "line_id": "l1", "quantity": 1, "reason": "too_small",
        "exchange_for": {"sku": sku, "name": name, "unit_amount": unit,
                         "variant_id": "v" + sku[-2:]}}], preferred=None)


def exchange_shop(mail_shop_with: Callable[..., Harness], fake: FakeStripe, tmp_path: Path,
                  ship_on: str = "first_scan", **settings: Any) -> Harness:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY + f"  ship_on: {ship_on}\n", encoding="utf-8")
    h = mail_shop_with(policy=str(path), **settings)
    fake.add_payment_intent(10000, "usd", "pi_123")
    assert h.post_storefront(order_paid(lines=SHOES, shipping=0)).status_code == 200
    return h


def test_an_instant_exchange_sends_both_events_signed_and_each_once(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, tmp_path: Path,
    erp: Callable[..., Receiver],
) -> None:
    receiver = erp()
    h = exchange_shop(mail_shop_with, fake_stripe, tmp_path, "approval", outbound_url=HOOK,
                      outbound_secret=SECRET)

    answer = h.post_storefront(swap("SHOE-42", "Trail shoe 42", 10000)).json
    assert h.post_storefront(swap("SHOE-42", "Trail shoe 42", 10000)).status_code == 200
    h.drain()
    h.drain()

    assert answer is not None
    decision_id = answer["decision_id"]
    rows = {r.kind: r for r in h.rows(outbox) if r.kind.startswith("exchange.")}
    assert {k: (r.cause, r.recipient, r.status, r.tries) for k, r in rows.items()} == {
        "exchange.approved": (f"exchange:{decision_id}", "merchant", "sent", 1),
        "exchange.ready_to_ship": (f"exchange:{decision_id}", "merchant", "sent", 1)}
    verified = [(i, p) for i, p in receiver.verified if p["type"].startswith("exchange.")]
    assert [(i, p["type"]) for i, p in verified] == [
        (rows["exchange.approved"].id, "exchange.approved"),
        (rows["exchange.ready_to_ship"].id, "exchange.ready_to_ship")]
    approved = verified[0][1]["data"]
    assert {k: approved[k] for k in ("decision_id", "order_id", "currency", "ship_on",
                                     "difference", "charge", "waived", "back", "lines",
                                     "customer_email")} == {
        "decision_id": decision_id, "order_id": "1001", "currency": "USD",
        "ship_on": "approval", "difference": 0, "charge": 0, "waived": 0, "back": 0,
        "lines": [{"line_id": "l1", "quantity": 1, "sku": "SHOE-42", "name": "Trail shoe 42",
                   "unit_amount": 10000, "variant_id": "v42"}],
        "customer_email": ANN}
    assert verified[1][1]["data"]["status"] in ("ready", "shipped")
    [row] = h.rows(exchanges)
    assert row.status == "shipped"


def test_the_approved_email_of_a_dearer_exchange_waits_for_the_checkout_and_carries_its_link(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, tmp_path: Path,
    smtp: SmtpSink,
) -> None:
    h = exchange_shop(mail_shop_with, fake_stripe, tmp_path)

    answer = h.post_storefront(swap("SHOE-43", "Trail shoe 43", 12500)).json
    h.drain()
    h.runtime.exchanges.run_once()  # type: ignore[union-attr]  # nothing more to open
    h.drain()

    assert answer is not None
    [session] = fake_stripe.checkout_sessions.values()
    mails = sorted((r for r in h.rows(outbox) if r.channel == "mail"), key=lambda r: r.seq)
    assert [(r.kind, r.cause, r.status) for r in mails] == [
        ("request_received", f"decision:{answer['decision_id']}", "sent"),
        ("approved", f"decision:{answer['decision_id']}", "sent")]
    context = json.loads(mails[1].context)
    assert (context["payment_url"], context["payment_amount"]) == (session["url"], 2500)
    assert [m.subject for m in smtp.received] == [
        "We received your return request for order 1001",
        "Your return for order 1001 is approved"]
    # the request's email says what comes instead of the returned shoe: no money for it
    received = smtp.received[0].part("plain")
    assert received.startswith("We received your return request for order 1001:\n\n"
                               "- 1 × Trail shoe 41: to be exchanged for 1 × Trail shoe 43\n")
    assert "100.00" not in received and "100.00" not in smtp.received[0].part("html")
    assert ('<td>1 × Trail shoe 41</td><td align="right">to be exchanged for 1 × Trail shoe 43'
            '</td>') in smtp.received[0].part("html")
    approved = smtp.received[1]
    assert ("To complete your exchange, please pay the price difference of 25.00 USD: "
            f"{session['url']}") in approved.part("plain")
    assert f'href="{session["url"]}"' in approved.part("html")
    assert "Pay the difference" in approved.part("html")


def test_a_checkout_stripe_keeps_refusing_goes_to_a_person_whose_approval_takes_it_up_again(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, tmp_path: Path,
    clock: Clock, smtp: SmtpSink,
) -> None:
    h = exchange_shop(mail_shop_with, fake_stripe, tmp_path)
    fake_stripe.fail_next(5, status=500)  # each of the five tries

    answer = h.post_storefront(swap("SHOE-43", "Trail shoe 43", 12500)).json
    worker = h.runtime.exchanges
    assert worker is not None and answer is not None
    for _ in range(6):
        clock.advance(600)
        worker.run_once()

    [row] = h.rows(exchanges)
    assert (row.status, row.tries, row.checkout_session_id) == ("failed", 5, None)
    [review] = h.rows(reviews)
    assert (review.decision_id, review.status) == (answer["decision_id"], "open")
    assert review.reason.startswith("exchange_failed: ")
    assert review.reason == f"exchange_failed: {row.last_error}"
    assert [b.kind for b in h.rows(outbox) if b.kind == "approved"] == []  # no link: no mail
    assert fake_stripe.checkout_sessions == {}

    # Stripe answers again; the person approves: the exchange takes up where it stopped, once
    decide(h.runtime.engine, h.runtime.service, answer["decision_id"], approve=True, by="ada",
           note="Stripe is back", now=clock())
    decide_again = h.rows(ledger_entries, entry_type="exchange_restarted")
    assert [json.loads(e.body) for e in decide_again] == [
        {"after": row.last_error, "status": "awaiting_payment", "tries": 0}]
    [row] = h.rows(exchanges)
    [session] = fake_stripe.checkout_sessions.values()
    assert (row.status, row.tries, row.checkout_session_id) == (
        "awaiting_payment", 0, session["id"])
    [approved] = [json.loads(b.context) for b in h.rows(outbox) if b.kind == "approved"]
    assert approved["payment_url"] == session["url"]
