"""A small hand-made shop history for the insights, sent through the real path: signed
``order.paid`` and ``return.requested`` events, the executor against the Stripe fake.

The policy (``POLICY``): refund or store credit (10 % bonus) within 30 days of payment, a 10 %
restocking fee when it is not our fault, items under 10.00 kept; anything later is declined.

Six customers, all USD, returns decided at ``DECIDED`` (2026-06-01 12:00 UTC):

| order | who | paid | lines | return |
| --- | --- | --- | --- | --- |
| o-1 | ann | 05-20 | 2 MUG 20.00, 1 SHIRT 50.00 | r-1 shirt, not_as_described: refund 50.00 |
| o-2 | bob | 05-25 | 2 SHIRT 50.00 | r-2 one, changed_mind: credit 45.00 + 4.50 (fee 5.00) |
| o-3 | cid | 05-28 | 1 MUG 20.00, 1 SOCK 8.00 | r-3 sock, too_small: kept, 7.20 (fee 0.80) |
| o-4 | dan | 04-01 | 1 SHIRT 50.00 | r-4 changed_mind, 61 days after paying: declined |
| o-5 | eve | 05-30 | 1 MUG 20.00 | none |
| o-6 | fay | 05-15 | 2 SOCK 8.00 | none |

Then they buy again: ann o-7 on 06-20 (36.00), eve o-9 on 06-10 (20.00), bob o-8 on 08-15
(40.00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes import Harness
from tests.fakes.stripe_api import FakeStripe

POLICY = """
name: insights-test
title: Refund or store credit within 30 days of payment.
promise_hours: 48
window: {days: 30, start: payment, outside: decline}
reasons: {changed_mind: accept, too_small: accept, too_large: accept, other: accept}
resolution:
  default: refund
  allow: [refund, credit]
  credit_bonus_percent: 10
  keep_item: {below: {USD: "10.00"}}
fees: {restocking_percent: 10}
shipping: {refund_with_last_item: false, refund_on_merchant_fault: false}
"""

DECIDED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MUG = {"sku": "MUG", "name": "Blue mug", "unit_amount": 2000, "product_id": "p-mug",
       "collections": ["kitchen"], "tags": ["ceramic"]}
SHIRT = {"sku": "SHIRT", "name": "Linen shirt", "unit_amount": 5000, "product_id": "p-shirt",
         "collections": ["apparel"], "tags": ["linen"]}
SOCK = {"sku": "SOCK", "name": "Wool sock", "unit_amount": 800, "product_id": "p-sock",
        "collections": ["apparel"], "tags": ["wool", "small"]}


@dataclass
class History:
    decisions: dict[str, str]  # return id -> decision id
    customers: dict[str, str]  # return id -> email


def _order(h: Harness, fake: FakeStripe, order_id: str, who: str, paid: str,
           lines: list[tuple[dict[str, Any], int]]) -> None:
    body = [{"id": f"l{i}", "quantity": q, **item} for i, (item, q) in enumerate(lines, 1)]
    total = sum(ln["quantity"] * ln["unit_amount"] for ln in body)
    fake.add_payment_intent(total, "usd", f"pi_{order_id}")
    # an order is sent when it is paid (the service refuses one dated ahead of its clock): the
    # later purchases move the clock to their day for the event, then back to where it stood
    stood = h.clock.now
    h.clock.now = max(stood, datetime.fromisoformat(paid))
    resp = h.post_storefront({
        "id": f"evt_paid_{order_id}", "type": "order.paid", "created": 1764000000,
        "data": {"order": {
            "id": order_id, "currency": "USD", "paid_at": paid, "delivered_at": paid,
            "customer": {"id": f"cus_{who}", "email": f"{who}@example.com"},
            "lines": body, "shipping_amount": 0, "total_amount": total,
            "payment": {"provider": "stripe", "reference": f"pi_{order_id}"}}}})
    h.clock.now = stood
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _return(h: Harness, return_id: str, order_id: str, line: str, reason: str, prefer: str,
            comment: str = "") -> dict[str, Any]:
    resp = h.post_storefront({
        "id": f"evt_ret_{return_id}", "type": "return.requested", "created": 1764000100,
        "data": {"return": {"id": return_id, "order_id": order_id,
                            "lines": [{"line_id": line, "quantity": 1, "reason": reason}],
                            "preferred_resolution": prefer, "comment": comment}}})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    data: dict[str, Any] = resp.get_json()
    return data


def make_history(h: Harness, fake: FakeStripe) -> History:
    """The history above; the harness clock must stand at ``DECIDED``."""
    assert h.clock() == DECIDED
    _order(h, fake, "o-1", "ann", "2026-05-20T10:00:00Z", [(MUG, 2), (SHIRT, 1)])
    _order(h, fake, "o-2", "bob", "2026-05-25T10:00:00Z", [(SHIRT, 2)])
    _order(h, fake, "o-3", "cid", "2026-05-28T10:00:00Z", [(MUG, 1), (SOCK, 1)])
    _order(h, fake, "o-4", "dan", "2026-04-01T10:00:00Z", [(SHIRT, 1)])
    _order(h, fake, "o-5", "eve", "2026-05-30T10:00:00Z", [(MUG, 1)])
    _order(h, fake, "o-6", "fay", "2026-05-15T10:00:00Z", [(SOCK, 2)])
    answers = {
        "r-1": _return(h, "r-1", "o-1", "l2", "not_as_described", "refund",
                       "The colour looks nothing like the photo"),
        "r-2": _return(h, "r-2", "o-2", "l1", "changed_mind", "credit"),
        "r-3": _return(h, "r-3", "o-3", "l2", "too_small", "refund", "Runs small"),
        "r-4": _return(h, "r-4", "o-4", "l1", "changed_mind", "refund",
                       "Only just unpacked it"),
    }
    assert {k: a["outcome"] for k, a in answers.items()} == {
        "r-1": "approve", "r-2": "approve", "r-3": "approve", "r-4": "decline"}
    h.drain()
    _order(h, fake, "o-7", "ann", "2026-06-20T10:00:00Z", [(MUG, 1), (SOCK, 2)])
    _order(h, fake, "o-8", "bob", "2026-08-15T10:00:00Z", [(MUG, 2)])
    _order(h, fake, "o-9", "eve", "2026-06-10T10:00:00Z", [(MUG, 1)])
    return History({k: a["decision_id"] for k, a in answers.items()},
                   {"r-1": "ann@example.com", "r-2": "bob@example.com",
                    "r-3": "cid@example.com", "r-4": "dan@example.com"})
