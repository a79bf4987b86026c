"""A return on an order whose payment has not reached us is decided at 0.00 (the policy's
refundable cap) and sent to a person; approved as it stands, it grants 0.00. The insights' money
returned per SKU says 0.00 too, as the ledger and the costs do, not the line's 25.00; revision
0028 rewrites the lines of such returns recorded before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import return_lines
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.finance_scene import as_before
from tests.integration.insights.test_insights_figures import get

PERIOD = "since=2026-11-01&until=2026-11-30"


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _unpaid_return_approved(h: Harness) -> str:
    order = order_paid("1001", paid_at="2026-11-20T10:00:00Z")
    del order["data"]["order"]["payment"]  # the order is known, its payment not yet
    assert h.post_storefront(order).status_code == 200
    asked = h.post_storefront(return_requested(
        lines=[{"line_id": "l1", "quantity": 1, "reason": "damaged"}]))
    answer = asked.get_json()
    assert (answer["outcome"], answer["reason_code"], answer["amount"]) == (
        "review", "payment_not_received", 0)
    admin = create_token(h.runtime.engine, "Ada", "admin", h.clock()).secret
    decided = h.client().post(f"/api/reviews/{answer['decision_id']}",
                              json={"action": "approve", "note": "as the policy said"},
                              headers={"Authorization": f"Bearer {admin}"})
    assert decided.status_code == 200, decided.get_data(as_text=True)
    return str(answer["decision_id"])


def _mug(h: Harness) -> tuple[Any, ...]:
    [mug] = get(h, f"/api/insights/reasons?{PERIOD}")["rows"]
    return (mug["key"], mug["units_sold"], mug["units_returned"], mug["money_returned"])


def test_an_approved_return_the_payment_could_not_hold_returns_no_money_per_sku(
    harness: Harness,
) -> None:
    _unpaid_return_approved(harness)

    assert _mug(harness) == ("MUG-1", 2, 1, 0)
    costs = get(harness, f"/api/insights/costs?{PERIOD}")
    assert [r for r in costs["rows"] if r["amount"]] == []


def test_revision_0028_rewrites_the_lines_of_such_returns_recorded_before(
    harness: Harness,
) -> None:
    decision_id = _unpaid_return_approved(harness)
    engine = harness.runtime.engine
    # what the writers before 0028 left: the line's value, as if the whole of it were paid
    as_before(engine, "0027",
              f"UPDATE return_lines SET amount = 2500 WHERE decision_id = '{decision_id}'")
    # read from the line the insight sums: today's insight reads today's columns
    # (returned_days.test_money, 0032), which a ledger at 0027 has not
    assert [r.amount for r in harness.rows(return_lines, decision_id=decision_id)] == [2500]

    assert migrate(engine) == ("0027", head_revision())

    assert _mug(harness) == ("MUG-1", 2, 1, 0)
