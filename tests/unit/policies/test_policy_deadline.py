"""``policies.deadline`` names the moment and the day a window last passes, and the window rule
agrees with it to the microsecond, whatever the start's time of day or offset."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import policies
from policies import deadline
from refunds_plugin.domain.kinds import Reason
from tests.unit.policies.policy_builders import SHIRT, ask, order

TICK = timedelta(microseconds=1)
BERLIN_WINTER = timezone(timedelta(hours=1))


def _window_verdict(start: datetime, days: int, now: datetime) -> str:
    facts = replace(order(days=0), delivered_at=start)
    policy = policies.load_policy_text(
        f"name: t\nwindow: {{days: {days}, start: delivery, outside: decline}}\n", "t")
    decision = policies.evaluate(policy, facts, ask((SHIRT.id, 1, Reason.CHANGED_MIND)), now)
    return next(r.verdict for r in decision.trace if r.rule == "window")


@pytest.mark.parametrize(("start", "days", "moment", "day"), [
    (datetime(2026, 11, 20, 10, 0, tzinfo=UTC), 14,
     datetime(2026, 12, 5, 9, 59, 59, 999_999, tzinfo=UTC), date(2026, 12, 5)),
    (datetime(2026, 11, 20, 0, 0, tzinfo=UTC), 14,
     datetime(2026, 12, 4, 23, 59, 59, 999_999, tzinfo=UTC), date(2026, 12, 4)),
    # 00:30 in Berlin is 23:30 UTC the day before: the day is said in UTC, like every page
    (datetime(2026, 11, 20, 0, 30, tzinfo=BERLIN_WINTER), 30,
     datetime(2026, 12, 20, 23, 29, 59, 999_999, tzinfo=UTC), date(2026, 12, 20)),
])
def test_the_last_day_is_the_day_of_the_last_moment_the_window_passes(
    start: datetime, days: int, moment: datetime, day: date,
) -> None:
    assert deadline.last_moment(start, days) == moment
    assert deadline.last_day(start, days) == day
    assert _window_verdict(start, days, moment) == "pass"
    assert _window_verdict(start, days, moment + TICK) == "decline"
