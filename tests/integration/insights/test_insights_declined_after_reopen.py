"""A return the policy approved, re-opened (payout refused, or another item came back) and then
declined by a person, is no return granted in the insights: not in the units or the money
returned per SKU, nor in the fees and kept value of the costs, read from the indexed rows while
its day is marked and from the rollups once folded (``refunds insights fold``). While the
person has not decided, the policy's approval still counts. Money that moved stays in the costs'
refunded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.ledger.tables import insight_marks
from tests.fakes import Harness
from tests.fakes.reopened import (
    DOCK,
    KEEP,
    SEND_BACK,
    approved,
    decline,
    receive_wrong_item,
    refuse_payout,
)
from tests.fakes.stripe_api import FakeStripe
from tests.integration.insights.test_insights_figures import get

PERIOD = "since=2026-11-01&until=2026-11-30"  # whole days: folded ones read from the rollups
FEE = "fees: {restocking_percent: 10}\n"


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def figures(h: Harness) -> dict[str, Any]:
    """The mug's row of reasons (units sold, sales, asked, returned, money returned and kept)
    and the costs' USD terms that are not 0."""
    [mug] = get(h, f"/api/insights/reasons?{PERIOD}")["rows"]
    costs = get(h, f"/api/insights/costs?{PERIOD}")
    return {
        "reasons": (mug["key"], mug["units_sold"], mug["sales"], mug["units_asked"],
                    mug["units_returned"], mug["money_returned"], mug["money_kept"]),
        "costs": {r["term"]: r["amount"] for r in costs["rows"] if r["amount"]},
    }


def fold(h: Harness) -> str:
    env = {"REFUNDS_DATABASE_URL": h.runtime.engine.url.render_as_string(False)}
    done = CliRunner().invoke(main, ["insights", "fold"], env=env)
    assert done.exit_code == 0, done.output
    assert h.count(insight_marks) == 0
    return done.output.strip()


Reopen = Callable[[Harness, FakeStripe, str], None]


def _payout_refused(h: Harness, fake: FakeStripe, decision_id: str) -> None:
    refuse_payout(h, fake)


def _wrong_item(h: Harness, fake: FakeStripe, decision_id: str) -> None:
    receive_wrong_item(h, decision_id)


@pytest.mark.parametrize(("policy", "reopen", "approved_figures", "declined_figures"), [
    pytest.param(
        KEEP + FEE, _payout_refused,
        # the mug (25.00 less a 2.50 fee) stays with the customer; the refund was refused
        {"reasons": ("MUG-1", 2, 5000, 1, 1, 2500, 2500),
         "costs": {"fees": 250, "kept": 2500}},
        {"reasons": ("MUG-1", 2, 5000, 1, 0, 0, 0), "costs": {}},
        id="payout-refused"),
    pytest.param(
        SEND_BACK + FEE, _wrong_item,
        # 22.50 refunded at once; what moved stays in refunded and money out
        {"reasons": ("MUG-1", 2, 5000, 1, 1, 2500, 0),
         "costs": {"refunded": 2250, "fees": 250, "money_out": 2250}},
        {"reasons": ("MUG-1", 2, 5000, 1, 0, 0, 0),
         "costs": {"refunded": 2250, "money_out": 2250}},
        id="wrong-item"),
])
def test_a_return_declined_after_it_was_reopened_is_not_returned_money(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe, policy: str,
    reopen: Reopen, approved_figures: dict[str, Any], declined_figures: dict[str, Any],
) -> None:
    h = policy_harness(policy, return_addresses=(DOCK,))
    decision_id = approved(h, fake_stripe)
    reopen(h, fake_stripe, decision_id)
    # a person looks: until they decide, the policy's approval stands
    assert fold(h) == "insights: 2 mark(s) folded"
    assert figures(h) == approved_figures

    decline(h, decision_id)

    assert h.count(insight_marks) == 1  # its day, read from the indexed rows
    assert figures(h) == declined_figures
    assert fold(h) == "insights: 1 mark(s) folded"
    assert figures(h) == declined_figures  # from the rollups
