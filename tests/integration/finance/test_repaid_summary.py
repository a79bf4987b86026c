"""Promise keeping in the summary for a decision paid again after a review: the refused first
attempt an approval replaced (journal ``retry_of``) no longer counts, so the decision is
returned, not overdue. Built through the real path (see ``test_repaid_money_status``)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes import Harness
from tests.fakes.stripe_api import FakeStripe
from tests.integration.finance.test_repaid_money_status import PI, approve, refused_refund

PROMISE_S = 48 * 3600  # the default policy's promise_hours
PERIOD = "since=2026-11-01&until=2026-12-01"


def summary(harness: Harness) -> dict[str, Any]:
    token = create_token(harness.runtime.engine, "Fin", "finance", harness.clock()).secret
    resp = harness.client().get(f"/api/summary?{PERIOD}",
                                headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data: dict[str, Any] = resp.get_json()
    return data


def refunded(data: dict[str, Any]) -> tuple[int, int, int]:
    [usd] = data["totals"]
    return usd["sales"], usd["refunded"], usd["decisions"]


def test_a_refund_refused_then_paid_on_approval_counts_as_returned_not_overdue(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_refund(harness, fake_stripe)
    data = summary(harness)
    assert refunded(data) == (5500, 0, 1)
    assert data["promise"] == {"returned": 0, "median_seconds": None, "p95_seconds": None,
                               "missed": 0, "overdue": 0, "dry_run": 0, "test_mode": 0}
    nothing = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01",
                                        "--until", "2026-12-01"],
                                 env={"REFUNDS_DATABASE_URL": harness.db_url})
    # no time to show, never "median Nones" (overdue is counted against the wall clock here)
    assert nothing.stdout.splitlines()[-1].startswith(
        "money returned for 0 decision(s): median -, p95 -; 0 missed the promised time, ")

    harness.clock.advance(PROMISE_S + 3600)  # an hour past the promise, still refused
    assert summary(harness)["promise"] == {"returned": 0, "median_seconds": None,
                                           "p95_seconds": None, "missed": 0, "overdue": 1,
                                           "dry_run": 0, "test_mode": 0}

    fake_stripe.payment_intents[PI]["disputed"] = False
    approve(harness, decision_id)
    assert summary(harness)["promise"]["overdue"] == 1  # approved, the new attempt still pending
    harness.drain()

    data = summary(harness)
    assert refunded(data) == (5500, 2500, 1)
    assert data["promise"] == {"returned": 1, "median_seconds": PROMISE_S + 3600,
                               "p95_seconds": PROMISE_S + 3600, "missed": 1, "overdue": 0,
                               "dry_run": 0, "test_mode": 0}
    report = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01",
                                       "--until", "2026-12-01"],
                                env={"REFUNDS_DATABASE_URL": harness.db_url})
    assert report.exit_code == 0, report.output
    assert report.stdout.splitlines()[-1] == (
        "money returned for 1 decision(s): median 176400s, p95 176400s; "
        "1 missed the promised time, 0 overdue; dry run (no money moved): 0 decision(s); "
        "stripe test mode (no real money moved): 0 decision(s)")


def test_a_refund_repaid_within_the_promise_is_returned_on_time(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_refund(harness, fake_stripe)
    harness.clock.advance(1800)
    fake_stripe.payment_intents[PI]["disputed"] = False
    approve(harness, decision_id)
    harness.drain()

    assert summary(harness)["promise"] == {"returned": 1, "median_seconds": 1800,
                                           "p95_seconds": 1800, "missed": 0, "overdue": 0,
                                           "dry_run": 0, "test_mode": 0}
