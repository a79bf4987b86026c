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
from sqlalchemy import Engine, func, or_, select, text

from refunds_plugin.cli import main
from refunds_plugin.ledger import fold as folding
from refunds_plugin.ledger import rollups
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import decisions, insight_marks, money_days, reviews
from tests.fakes import Harness
from tests.fakes.finance_scene import as_before
from tests.fakes.reopened import DOCK, KEEP, WAYS, approved, decline, refuse_payout
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


def folded_money(engine: Engine) -> dict[str, int]:
    """The USD fees and kept money the rollups hold."""
    with engine.connect() as conn:
        rows = conn.execute(select(money_days.c.term, func.sum(money_days.c.amount))
                            .where(money_days.c.currency == "USD",
                                   money_days.c.term.in_(("fees", "kept")))
                            .group_by(money_days.c.term)).all()
    return {term: int(amount) for term, amount in rows}


def fold(h: Harness) -> str:
    env = {"REFUNDS_DATABASE_URL": h.runtime.engine.url.render_as_string(False)}
    done = CliRunner().invoke(main, ["insights", "fold"], env=env)
    assert done.exit_code == 0, done.output
    assert h.count(insight_marks) == 0
    return done.output.strip()


@pytest.mark.parametrize(("way", "approved_figures", "declined_figures"), [
    pytest.param(
        "payout-refused",
        # the 25.00 mug stays with the customer (a 2.50 fee); the refund was refused
        {"reasons": ("MUG-1", 2, 5000, 1, 1, 2500, 2500),
         "costs": {"fees": 250, "kept": 2500}},
        {"reasons": ("MUG-1", 2, 5000, 1, 0, 0, 0), "costs": {}},
        id="payout-refused"),
    pytest.param(
        "wrong-item",
        # 22.50 refunded at once; what moved stays in refunded and money out
        {"reasons": ("MUG-1", 2, 5000, 1, 1, 2500, 0),
         "costs": {"refunded": 2250, "fees": 250, "money_out": 2250}},
        {"reasons": ("MUG-1", 2, 5000, 1, 0, 0, 0),
         "costs": {"refunded": 2250, "money_out": 2250}},
        id="wrong-item"),
])
def test_a_return_declined_after_it_was_reopened_is_not_returned_money(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe, way: str,
    approved_figures: dict[str, Any], declined_figures: dict[str, Any],
) -> None:
    policy, reopen = WAYS[way]
    h = policy_harness(policy + FEE, return_addresses=(DOCK,))
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


def _granted_before() -> Any:
    """``rollups.granted`` as it was before dd555ce: the policy's approval counted even after a
    person declined the re-opened review."""
    return or_(decisions.c.outcome == "approve", reviews.c.status == "approved")


def test_revision_0026_recounts_the_rollups_folded_while_such_a_return_counted(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = policy_harness(KEEP + FEE)
    decision_id = approved(h, fake_stripe)
    refuse_payout(h, fake_stripe)
    decline(h, decision_id)
    approved(h, fake_stripe, "1002", "pi_456")  # paid: the revision marks nothing for it
    h.drain()
    engine = h.runtime.engine
    # the ledger before the revision, folded by the code of then; today's folder also writes
    # what of the money Stripe paid in its test mode (returned_days.test_money, 0032) and
    # leaves out orders paid only in that mode (payments.livemode, 0029), so those columns are
    # there while it folds and gone again before the ledger migrates
    as_before(engine, "0025",
              "ALTER TABLE returned_days ADD COLUMN test_money BIGINT NOT NULL DEFAULT 0",
              "ALTER TABLE payments ADD COLUMN livemode BOOLEAN")
    with monkeypatch.context() as m:
        m.setattr(rollups, "granted", _granted_before)
        while folding.fold(engine):
            pass
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE returned_days DROP COLUMN test_money"))
        conn.execute(text("ALTER TABLE payments DROP COLUMN livemode"))
    assert h.count(insight_marks) == 0
    # what was folded then: the declined return's fee and kept money too (read from the rollups
    # themselves: today's readers need today's columns, which a ledger at 0025 has not)
    assert folded_money(engine) == {"fees": 500, "kept": 5000}
    paid = {"refunded": 2250, "money_out": 2250}  # order 1002's

    assert migrate(engine) == ("0025", head_revision())

    right = {"reasons": ("MUG-1", 4, 10000, 2, 1, 2500, 2500),
             "costs": {**paid, "fees": 250, "kept": 2500}}
    assert h.count(insight_marks) == 1  # its day: read from the indexed rows
    assert figures(h) == right
    assert fold(h) == "insights: 1 mark(s) folded"
    assert figures(h) == right  # from the rollups
