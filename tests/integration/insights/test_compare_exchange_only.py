"""``policy compare`` counts a decision whose exchange settles differently (the price difference
waived instead of charged), with the same outcome and money, as a decision that differs, as
``policy simulate`` counts it changed (``Comparison.changed``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

import policies
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
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.finance.simulation import replay
from refunds_plugin.insights.compare import compare
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.decisions import decision_body, facts_json, request_json
from refunds_plugin.ledger.journal import to_json
from refunds_plugin.ledger.tables import decisions

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PAID = NOW - timedelta(days=5)


def _policy(waive_up_to: str, name: str) -> policies.Policy:
    """Exchanges for any product; a dearer item's difference waived up to ``waive_up_to``."""
    return policies.load_policy_text(
        f"""
name: {name}
window: {{days: 60}}
resolution: {{allow: [refund, exchange]}}
exchange:
  scope: any_product
  price_difference: {{lower: refund, higher: {{waive_up_to: {{USD: "{waive_up_to}"}}}}}}
""",
        f"{name}.yaml",
    )


FIVE = _policy("5.00", "waive-five")
TEN = _policy("10.00", "waive-ten")
FIVE_AGAIN = _policy("5.00", "waive-five-again")  # FIVE's rules under another content hash

FACTS = OrderFacts(
    order_id="o1",
    currency="USD",
    lines=(OrderLine("l0", "SKU-0", "Linen shirt", 1, 5000, product_id="P-0"),),
    shipping_amount=0,
    total_amount=5000,
    customer=Customer("c1", "c1@example.com"),
    paid_at=PAID,
    fulfilled_at=PAID + timedelta(days=1),
    delivered_at=PAID + timedelta(days=2),
    payments=(PaymentFacts("stripe", "pi_1", 5000),),
    refund_increment=1,
    history=CustomerHistory(total_paid=5000, order_count=1, first_order_at=PAID),
    source="storefront",
)
# a dearer item, 8.00 USD more: FIVE waives 5.00 and charges 3.00, TEN waives all of it
REQUEST = ReturnRequest(
    "r1",
    "o1",
    (ReturnLine("l0", 1, Reason.TOO_SMALL, Variant("SKU-X", "Another item", 5800, True)),),
    requested_at=NOW,
)


def _decided_under(url: str, pol: policies.Policy) -> None:
    d = policies.evaluate(pol, FACTS, REQUEST, NOW)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(decisions).values(
                    id="d-1",
                    order_id="o1",
                    request_key="return:r1",
                    kind="return",
                    outcome=d.outcome.value,
                    resolution=d.resolution_summary,
                    currency="USD",
                    amount=d.amount,
                    refund_amount=d.refund_amount,
                    credit_amount=d.credit_amount,
                    reason_code=d.reason_code,
                    policy_name=pol.name,
                    policy_hash=pol.content_hash,
                    explanation=d.explanation,
                    body=to_json(decision_body(d)),
                    facts=to_json(facts_json(FACTS)),
                    request=to_json(request_json(REQUEST)),
                    customer_id="c1",
                    customer_email="c1@example.com",
                    created_at=NOW,
                )
            )
    finally:
        engine.dispose()


def test_the_two_policies_differ_only_in_how_the_exchange_settles() -> None:
    five, ten = (policies.evaluate(p, FACTS, REQUEST, NOW) for p in (FIVE, TEN))
    assert (
        (five.outcome.value, five.amount, five.refund_amount, five.credit_amount)
        == (ten.outcome.value, ten.amount, ten.refund_amount, ten.credit_amount)
        == ("approve", 0, 0, 0)
    )
    assert five.exchange is not None and ten.exchange is not None
    assert (five.exchange.settled_as, ten.exchange.settled_as) == ("waived+charge", "waived")


def test_compare_counts_an_exchange_only_change_as_simulate_does(any_db_url: str) -> None:
    _decided_under(any_db_url, FIVE)
    engine = make_engine(any_db_url)
    try:
        simulated = replay(engine, TEN)
        assert [c.changed for c in simulated] == [True]  # simulate counts it
        # the stored decision reused for FIVE; both decided again for FIVE_AGAIN and TEN
        # waiving more is no worse answer; charging 3.00 where all was waived is
        # (``test_compare_exchange_columns``)
        for current, candidate, worse in ((FIVE, TEN, 0), (TEN, FIVE, 1), (FIVE_AGAIN, TEN, 0)):
            report = compare(engine, current, candidate).to_json()
            assert (report["compared"], report["differ"], report["worse_count"]) == (
                1, 1, worse), (current.name, candidate.name)
        # and the same rules under two names change nothing
        for current, candidate in ((FIVE, FIVE_AGAIN), (FIVE_AGAIN, FIVE), (TEN, TEN)):
            report = compare(engine, current, candidate).to_json()
            assert (report["compared"], report["differ"]) == (1, 0), (current.name, candidate.name)
    finally:
        engine.dispose()
