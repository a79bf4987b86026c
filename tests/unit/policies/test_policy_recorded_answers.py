"""Every field of every decision stays what it was before evaluation was made faster.

``recorded_answers.json`` holds, for seeded generated orders and requests under every preset and
two policies written here (tiers, abuse, exchanges, keep-the-item, fees, a credit bonus, a
refund period, held money), a digest of each decision as it was decided by the code before the
speed work of issue 17 (main at d4c4433, recorded with that tree's own code): ``to_dict()``
(outcome, amounts, fees, resolutions, trace with what each rule saw, explanation), every
message's structure (message id and parameters, which another reader's language is rendered
from), ``repr``, the decision made with
``explained=False``, and any error's type and words. The same facts and requests are also read
back from their stored JSON (``finance.simulation.facts_from_json``), as ``policy compare`` does.

After an intended change of behaviour, record again (and say why in the commit)::

    REFUNDS_RECORD_ANSWERS=1 python -m pytest tests/unit/policies/test_policy_recorded_answers.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import policies
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.finance.simulation import facts_from_json, request_from_json
from refunds_plugin.language.said import structure
from refunds_plugin.ledger.decisions import facts_json, request_json
from refunds_plugin.ledger.journal import to_json

RECORDED = Path(__file__).with_name("recorded_answers.json")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CASES = 250  # per policy
WRITTEN = {
    "tiers-and-abuse": """
name: tiers-and-abuse
window: {days: 30, start: fulfilment, outside: review,
         overrides: [{sku: SKU-1, days: 10}, {tag: sale, days: 60},
                     {collection: apparel, days: unlimited}]}
final_sale: {tags: [final-sale], guarantee: review}
reasons: {changed_mind: credit, too_small: accept, too_large: accept, other: review}
limits: {auto_approve_per_request: {USD: "300.00", EUR: "250.00"},
         auto_approve_per_order: {USD: "400.00"}}
tiers:
  - {name: silver, min_orders: 3, extra_window_days: 15,
     limits: {auto_approve_per_request: {USD: "500.00"}}}
  - {name: gold, min_projected_value: {USD: "1000.00", EUR: "900.00"}, min_months: 6,
     extra_window_days: unlimited, waive_fees: true}
abuse: {window_days: 90, max_refunds: 3, max_refund_amount: {USD: "200.00", JPY: "20000"},
        max_refund_ratio_percent: 40, max_not_received_claims: 2, orders_per_extra_refund: 4,
        recent_signals_need_ratio_percent: 20, count_store_credit: true}
fees: {restocking_percent: "12.5", return_shipping: {USD: "5.95", EUR: "4.95", KWD: "1.500"},
       waive_for_reasons: [too_small]}
shipping: {refund_with_last_item: true, refund_on_merchant_fault: false}
""",
    "exchanges-and-holds": """
name: exchanges-and-holds
window: {days: 45}
resolution:
  default: credit
  allow: [refund, credit, exchange]
  refund_within_days: 20
  credit_bonus_percent: 7
  credit_bonus_max: {USD: "15.00", EUR: "12.00", KWD: "5.000"}
  keep_item: {below: {USD: "10.00", EUR: "10.00", JPY: "1000"},
              return_label_cost: {USD: "8.00"}}
refund_on: {refund: inspected, credit: first_scan}
return_shipping: {label: easypost, paid_by: customer, fee: {USD: "6.00", EUR: "5.00"},
                  free_for: [merchant_fault, too_small]}
exchange:
  scope: any_product
  price_difference: {lower: credit, higher: {waive_up_to: {USD: "5.00", EUR: "5.00"}}}
  fees: apply
  ship_on: approval
""",
}
CURRENCIES = (("USD", 1), ("EUR", 1), ("JPY", 1), ("KWD", 10), ("GBP", 1))


def _policies() -> dict[str, policies.Policy]:
    found = {name: policies.load_policy(f"preset:{name}") for name in policies.list_presets()}
    found.update({name: policies.load_policy_text(text, f"{name}.yaml")
                  for name, text in WRITTEN.items()})
    return found


def _case(rng: random.Random, n: int) -> tuple[OrderFacts, ReturnRequest]:
    currency, step = rng.choice(CURRENCIES)
    lines = []
    for k in range(rng.randint(1, 4)):
        qty = rng.choice((1, 1, 2, 3))
        unit = rng.choice((95, 800, 2500, 4999, 12900, 35000))
        lines.append(OrderLine(
            f"l{k}", rng.choice((f"SKU-{k}", "SKU-1")),
            rng.choice(("Cup", "Linen shirt")) + f" {k}", qty, unit,
            tags=rng.choice(((), ("final-sale",), ("sale",), ("sale", "final-sale"))),
            collections=rng.choice(((), ("apparel",))), product_id=rng.choice((None, f"P-{k}")),
            total_amount=unit * qty - rng.choice((0, 1, qty)) if qty > 1 else None,
            variants=rng.choice(((), (Variant(f"SKU-{k}b", "Other size", unit + rng.choice(
                (-300, 0, 300)), rng.choice((True, None, False)), f"v{k}"),)))))
    ship = rng.choice((0, 0, 499, 1200))
    total = sum(ln.amount for ln in lines) + ship
    split = rng.choice((total, total, total // 2))
    payments = [PaymentFacts(rng.choice(("stripe", "stripe", "storefront")), f"pi_{n}", split,
                             refunded=rng.choice((0, 0, 0, split // 3, split)),
                             pending=rng.choice((0, 0, 100)), disputed=rng.random() < 0.04)]
    if split < total:
        payments.append(PaymentFacts("saleor", f"tr_{n}", total - split, blocked=rng.choice(
            (None, "This payment was recorded by staff"))))
    paid = NOW - timedelta(days=rng.choice((1, 5, 12, 19, 25, 29, 31, 44, 50, 75, 120, 400)),
                           hours=rng.randint(0, 23))
    shipped = rng.choice((None, paid + timedelta(days=1)))
    delivered = rng.choice((None, paid + timedelta(days=2))) if shipped else None
    history = CustomerHistory(
        total_paid=total * rng.choice((0, 1, 4, 20)), order_count=rng.choice((0, 1, 3, 5, 12)),
        first_order_at=rng.choice((None, paid - timedelta(days=rng.choice((0, 200, 900))))),
        total_refunded=rng.choice((0, 5000, 90000)), refunds_recent_count=rng.choice((0, 2, 7)),
        refunds_recent_amount=rng.choice((0, 20000)), not_received_claims=rng.choice((0, 3)),
        total_credited=rng.choice((0, 3000)), credits_recent_count=rng.choice((0, 4)),
        credits_recent_amount=rng.choice((0, 15000)))
    facts = OrderFacts(
        order_id=f"o{n}", currency=currency, lines=tuple(lines), shipping_amount=ship,
        total_amount=total, customer=Customer(f"c{n % 7}", f"c{n % 7}@example.com"),
        paid_at=rng.choice((paid, paid, None)), fulfilled_at=shipped, delivered_at=delivered,
        payments=tuple(payments), refund_increment=step,
        returned_quantities=rng.choice(((), (), (("l0", 1),), (("l0", 1), ("l0", 1)))),
        shipping_refunded=rng.choice((0, 0, ship)), history=history,
        source=rng.choice(("storefront", "saleor")), channel=rng.choice((None, "web")))
    asked = []
    for ln in rng.sample(lines, rng.randint(1, len(lines))):
        swap = Variant(rng.choice(("SKU-X", f"SKU-{ln.id[1:]}b")), "Another item",
                       ln.unit_amount + rng.choice((-500, 0, 3, 400)),
                       rng.choice((True, None))) if rng.random() < 0.3 else None
        asked.append(ReturnLine(ln.id, rng.choice((1, 1, ln.quantity, ln.quantity + 1, 0)),
                                rng.choice(list(Reason)), swap))
    if rng.random() < 0.04:
        asked.append(asked[0])
    if rng.random() < 0.03:
        asked.append(ReturnLine("nope", 1, Reason.OTHER))
    request = ReturnRequest(
        f"r{n}", facts.order_id if rng.random() > 0.03 else "elsewhere", tuple(asked),
        preferred_resolution=rng.choice((None, ResolutionKind.REFUND, ResolutionKind.CREDIT)),
        comment=rng.choice(("", "Too big")), requested_at=rng.choice((None, NOW)))
    return facts, request


def _seen(decision: Decision) -> Any:
    return [decision.to_dict(), repr(decision), structure(decision.explanation),
            [structure(t.message) for t in decision.trace],
            [structure(f.description) for f in decision.fees]]


def _answer(pol: policies.Policy, facts: OrderFacts, request: ReturnRequest) -> Any:
    at = request.requested_at or NOW
    out = []
    for explained in (True, False):
        try:
            out.append(_seen(policies.evaluate(pol, facts, request, at, explained=explained)))
        except Exception as exc:  # noqa: BLE001 - the error is part of the answer
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def answers() -> dict[str, dict[str, str]]:
    """``{policy: {case: digest}}``; each case decided as built and as read back from JSON."""
    out: dict[str, dict[str, str]] = {}
    for name, pol in _policies().items():
        rng = random.Random(f"recorded-{name}")
        got: dict[str, str] = {}
        for n in range(CASES):
            facts, request = _case(rng, n)
            rebuilt = (facts_from_json(json.loads(to_json(facts_json(facts)))),
                       request_from_json(json.loads(to_json(request_json(request)))))
            got[str(n)] = _digest([_answer(pol, facts, request), _answer(pol, *rebuilt),
                                   rebuilt == (facts, request)])
        out[name] = got
    return out


def test_every_decision_is_what_it_was_before_evaluation_was_made_faster() -> None:
    got = answers()
    if os.environ.get("REFUNDS_RECORD_ANSWERS"):
        RECORDED.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n")
        pytest.skip("answers recorded")
    recorded = json.loads(RECORDED.read_text())
    assert recorded.keys() == got.keys()
    for name, cases in recorded.items():
        differ = [n for n, digest in cases.items() if got[name][n] != digest]
        assert not differ, f"{name}: cases {differ[:10]} decide differently"


def test_the_recorded_cases_reach_what_they_are_for() -> None:
    """The cases cover approvals, reviews, declines, errors, exchanges and held money."""
    codes: set[str] = set()
    for name, pol in _policies().items():
        rng = random.Random(f"recorded-{name}")
        for n in range(CASES):
            facts, request = _case(rng, n)
            try:
                d = policies.evaluate(pol, facts, request, request.requested_at or NOW)
            except Exception as exc:  # noqa: BLE001
                codes.add(type(exc).__name__)
                continue
            codes.add(d.outcome.value)
            codes.update(t.code for t in d.trace)
    assert {"approve", "review", "decline", "exchange_approved", "refund_on_inspected",
            "abuse_signal", "tier_gold", "tier_silver", "fees_charged", "credit_bonus",
            "keep_item_low_value", "provider_rounding", "outside_window_review",
            "refund_period_over", "exceeds_refundable", "duplicate_line", "unknown_line",
            "payment_disputed", "credit_not_refund"} <= codes, codes
