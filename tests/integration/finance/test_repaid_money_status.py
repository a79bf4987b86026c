"""The money status of a decision paid again after a review: a refused first attempt that an
approval replaced (a new attempt, journalled with ``retry_of``) no longer counts as the
decision's failure. Built through the real path: signed events, the executor against the Stripe
fake, a dispute that makes Stripe refuse, and an admin's approval."""

from __future__ import annotations

import csv
import io
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

PI = "pi_123"


def refused_refund(harness: Harness, fake: FakeStripe) -> str:
    """Order 1001 paid 55.00 on pi_123; one mug (25.00) returned; Stripe refuses the refund
    while the charge is disputed. Returns the decision id."""
    fake.add_payment_intent(5500, "usd", PI)
    assert harness.post_storefront(order_paid()).status_code == 200
    answer = harness.post_storefront(return_requested())
    assert answer.status_code == 201
    [attempt] = answer.json["attempts"]
    fake.dispute(PI)
    harness.drain()
    [row] = harness.rows(refund_attempts, id=attempt["id"])
    assert row.status == "failed"
    return str(row.decision_id)


def approve(harness: Harness, decision_id: str) -> tuple[str, ...]:
    return decide(harness.runtime.engine, harness.runtime.service, decision_id, approve=True,
                  by="Ada Admin", note="dispute won", now=harness.clock()).attempt_ids


def statuses(harness: Harness, decision_id: str) -> list[tuple[int, str]]:
    ra = refund_attempts.c
    with harness.runtime.engine.connect() as conn:
        return [(int(s), st) for s, st in conn.execute(
            select(ra.seq, ra.status).where(ra.decision_id == decision_id).order_by(ra.seq))]


def api_row(harness: Harness, decision_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The decision as ``GET /api/decisions`` shows it, as JSON and as its CSV row."""
    token = create_token(harness.runtime.engine, "Fin", "finance", harness.clock()).secret
    client = harness.client()
    auth = {"Authorization": f"Bearer {token}"}
    as_json = client.get("/api/decisions", headers=auth)
    as_csv = client.get("/api/decisions?format=csv", headers=auth)
    assert (as_json.status_code, as_csv.status_code) == (200, 200)
    [row] = [r for r in as_json.get_json()["data"] if r["id"] == decision_id]
    [csv_row] = [r for r in csv.DictReader(io.StringIO(as_csv.get_data(as_text=True)))
                 if r["id"] == decision_id]
    return row, csv_row


def exported(harness: Harness, decision_id: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["ledger", "export", "--format", "csv"],
                                env={"REFUNDS_DATABASE_URL": harness.db_url})
    assert result.exit_code == 0, result.output
    [row] = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["id"] == decision_id]
    return row


def test_a_refused_refund_paid_again_after_approval_shows_succeeded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_refund(harness, fake_stripe)
    row, csv_row = api_row(harness, decision_id)
    assert (row["money_status"], csv_row["money_status"]) == ("failed", "failed")

    fake_stripe.payment_intents[PI]["disputed"] = False
    [new_id] = approve(harness, decision_id)
    row, csv_row = api_row(harness, decision_id)
    assert statuses(harness, decision_id) == [(0, "failed"), (1, "pending")]
    assert (row["money_status"], csv_row["money_status"]) == ("pending", "pending")

    harness.drain()

    assert statuses(harness, decision_id) == [(0, "failed"), (1, "succeeded")]
    assert fake_stripe.refunded(PI) == 2500 and len(fake_stripe.refunds) == 1
    row, csv_row = api_row(harness, decision_id)
    assert (row["money_status"], row["amount"], row["currency"]) == ("succeeded", 2500, "USD")
    assert (csv_row["money_status"], csv_row["amount"]) == ("succeeded", "2500")
    assert exported(harness, decision_id)["money_status"] == "succeeded"
    token = create_token(harness.runtime.engine, "Page", "finance", harness.clock()).secret
    page = harness.client().get("/finance/?order=1001",
                                headers={"Authorization": f"Bearer {token}"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (html.count('class="money-succeeded">succeeded</td>'),
            html.count('class="money-failed">failed</td>')) == (1, 0)


def refused_twice(harness: Harness, fake_stripe: FakeStripe) -> str:
    """A refused refund, approved, whose replacement is refused too (still disputed)."""
    decision_id = refused_refund(harness, fake_stripe)
    approve(harness, decision_id)
    harness.clock.advance(60)
    harness.drain()
    return decision_id


def test_a_replacement_refused_again_shows_failed_until_it_too_is_paid(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_twice(harness, fake_stripe)
    assert statuses(harness, decision_id) == [(0, "failed"), (1, "failed")]
    assert api_row(harness, decision_id)[0]["money_status"] == "failed"

    fake_stripe.payment_intents[PI]["disputed"] = False
    approve(harness, decision_id)
    harness.drain()

    assert statuses(harness, decision_id) == [(0, "failed"), (1, "failed"), (2, "succeeded")]
    row, csv_row = api_row(harness, decision_id)
    assert (row["money_status"], csv_row["money_status"]) == ("succeeded", "succeeded")
    assert exported(harness, decision_id)["money_status"] == "succeeded"
