"""A return the policy approved goes back to a person when its payout is refused or its parcel
differs; if that person declines, the latest word wins: its ``granted_*`` amounts are 0 in the
API (JSON and CSV), ``ledger list`` and the decisions page, and the summary keeps no item for
it. Money that moved before the review was re-opened stays what moved: ``money_status``
``succeeded`` and the summary's refunded, beside a granted 0."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import refund_attempts, reviews
from tests.fakes import Harness
from tests.fakes.finance_scene import csrf
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

# what the lists say of the 25.00 USD return a person declined, however its money stands
DECLINED = {
    "csv": ("0", "0.00"),
    "ledger list --json": 0,
    "ledger list": "0.00 USD (declined; the policy said 25.00 USD)",
    "page": '<td data-label="Amount" class="num">0.00 USD<br><small>declined; the policy '
            'said 25.00 USD</small></td>',
}
DISPUTED = "charge_disputed: the charge is disputed; Stripe refuses refunds while it is"


def _admin(h: Harness) -> tuple[FlaskClient, dict[str, str]]:
    token = create_token(h.runtime.engine, "Ada Admin", "admin", h.clock()).secret
    client = h.client()
    assert client.post("/finance/login", data={
        "token": token, "csrf_token": csrf(client, "/finance/login")}).status_code == 303
    return client, {"Authorization": f"Bearer {token}"}


def _figures(h: Harness) -> dict[str, Any]:
    """What every list says of the one decision: the API's JSON and CSV, ``ledger list`` (JSON
    and table), the decisions page's amount, and the summary's USD totals."""
    client, auth = _admin(h)
    [row] = client.get("/api/decisions", headers=auth).get_json()["data"]
    [sheet] = csv.DictReader(io.StringIO(
        client.get("/api/decisions?format=csv", headers=auth).get_data(as_text=True)))
    env = {"REFUNDS_DATABASE_URL": h.runtime.engine.url.render_as_string(False)}
    listed = CliRunner().invoke(main, ["ledger", "list", "--json"], env=env)
    table = CliRunner().invoke(main, ["ledger", "list"], env=env)
    assert (listed.exit_code, table.exit_code) == (0, 0), listed.output + table.output
    [line] = [ln for ln in table.output.splitlines() if " 1001 " in ln]
    page = client.get("/finance/?order=1001").get_data(as_text=True)
    amount = page[page.index('<td data-label="Amount" class="num">'):]
    [usd] = client.get("/api/summary", headers=auth).get_json()["totals"]
    return {
        "api": (row["review_status"], row["refund_amount"], row["granted_refund_amount"],
                row["granted_credit_amount"], row["money_status"]),
        "csv": (sheet["granted_refund_amount"], sheet["granted_refund_amount_decimal"]),
        "ledger list --json": json.loads(listed.output)["granted_refund_amount"],
        "ledger list": re.search(r"\S+ USD( \([^)]*\))?", line)[0],  # its granted column
        "page": amount[:amount.index("</td>") + 5],
        "summary": (usd["refunded"], usd["kept"]),
    }


def test_a_policy_approval_declined_after_its_payout_was_refused_grants_nothing(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe,
) -> None:
    h = policy_harness(KEEP)
    decision_id = approved(h, fake_stripe)  # a 25.00 mug: kept, refunded without a return
    refuse_payout(h, fake_stripe)
    assert [(r.status, r.reason) for r in h.rows(reviews)] == [
        ("open", f"attempt_failed: {DISPUTED}")]
    # with a person, the policy's approval still stands: it is owed until they decide
    assert _figures(h)["api"] == ("open", 2500, 2500, 0, "failed")

    decline(h, decision_id)

    assert [r.status for r in h.rows(refund_attempts)] == ["failed"]
    assert _figures(h) == {
        "api": ("declined", 2500, 0, 0, "failed"),
        **DECLINED,
        "summary": (0, 0),  # nothing refunded, no item kept
    }


def test_money_paid_before_the_review_was_reopened_stays_paid_beside_a_granted_zero(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe,
) -> None:
    h = policy_harness(SEND_BACK, return_addresses=(DOCK,))
    decision_id = approved(h, fake_stripe)
    receive_wrong_item(h, decision_id)  # refunded at once, then another item came back
    assert [r.status for r in h.rows(refund_attempts)] == ["succeeded"]
    assert [r.status for r in h.rows(reviews)] == ["open"]

    decline(h, decision_id)

    assert fake_stripe.refunded("pi_123") == 2500
    assert _figures(h) == {
        "api": ("declined", 2500, 0, 0, "succeeded"),
        **DECLINED,
        "summary": (2500, 0),  # what moved stays what moved
    }
