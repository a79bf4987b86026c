"""The ``status`` filter of ``/api/decisions`` matches a decision's money status as shown: a
refused attempt that a review's approval replaced (journal ``retry_of``) no longer makes the
decision match ``failed``. Built through the real path (see ``test_repaid_money_status``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe
from tests.integration.finance.test_repaid_money_status import (
    PI,
    approve,
    refused_refund,
    refused_twice,
)

STATUSES = ("none", "pending", "in_progress", "sent", "unknown", "succeeded", "failed",
            "canceled", "mixed")


def returned(harness: Harness, fake: FakeStripe, order: str, pi: str, *, refuse: bool) -> str:
    """Order ``order`` paid 55.00 on ``pi`` by its own customer, one mug returned, the refund
    carried out (refused while disputed when ``refuse``). Returns the decision id."""
    fake.add_payment_intent(5500, "usd", pi)
    customer = {"id": f"c-{order}", "email": f"buyer{order}@example.com"}
    assert harness.post_storefront(order_paid(order, reference=pi, customer=customer)
                                   ).status_code == 200
    answer = harness.post_storefront(return_requested(f"r-{order}", order))
    assert answer.status_code == 201
    if refuse:
        fake.dispute(pi)
    harness.drain()
    return str(answer.json["decision_id"])


class Api:
    def __init__(self, harness: Harness) -> None:
        token = create_token(harness.runtime.engine, "Fin", "finance", harness.clock()).secret
        self.client = harness.client()
        self.auth = {"Authorization": f"Bearer {token}"}

    def get(self, query: str) -> dict[str, Any]:
        resp = self.client.get(f"/api/decisions?{query}", headers=self.auth)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        data: dict[str, Any] = resp.get_json()
        return data

    def ids(self, status: str) -> list[str]:
        return [r["id"] for r in self.get(f"status={status}")["data"]]

    def agrees_with_shown(self) -> None:
        """Every status filter returns exactly the decisions whose shown money status it is."""
        shown = self.get("per_page=200")["data"]
        for status in STATUSES:
            assert self.ids(status) == [r["id"] for r in shown if r["money_status"] == status]


def test_the_status_filter_follows_a_refused_refund_paid_again_on_approval(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    repaid = refused_refund(harness, fake_stripe)  # order 1001 on pi_123
    harness.clock.advance(60)
    refused = returned(harness, fake_stripe, "1002", "pi_456", refuse=True)
    harness.clock.advance(60)
    paid = returned(harness, fake_stripe, "1003", "pi_789", refuse=False)
    api = Api(harness)
    assert (api.ids("failed"), api.ids("succeeded")) == ([refused, repaid], [paid])
    api.agrees_with_shown()

    fake_stripe.payment_intents[PI]["disputed"] = False
    approve(harness, repaid)
    assert (api.ids("failed"), api.ids("pending"), api.ids("succeeded")) == (
        [refused], [repaid], [paid])
    api.agrees_with_shown()

    harness.drain()

    assert api.ids("failed") == [refused]
    assert api.ids("succeeded") == [paid, repaid]
    assert api.ids("pending") == []
    first = api.get("status=succeeded&per_page=1")
    second = api.get("status=succeeded&per_page=1&page=2")
    assert ([r["id"] for r in first["data"]], first["has_next"]) == ([paid], True)
    assert ([r["id"] for r in second["data"]], second["has_next"]) == ([repaid], False)
    only = api.get("status=failed&per_page=1")
    assert ([r["id"] for r in only["data"]], only["has_next"]) == ([refused], False)
    api.agrees_with_shown()


def test_a_replacement_refused_again_matches_failed_until_it_too_is_replaced_and_paid(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_twice(harness, fake_stripe)
    api = Api(harness)
    assert (api.ids("failed"), api.ids("succeeded")) == ([decision_id], [])
    api.agrees_with_shown()

    fake_stripe.payment_intents[PI]["disputed"] = False
    approve(harness, decision_id)
    harness.drain()  # a third attempt, replacing the second, is paid

    assert (api.ids("failed"), api.ids("succeeded")) == ([], [decision_id])
    api.agrees_with_shown()


def test_every_status_filter_agrees_with_the_shown_status_beside_a_replaced_attempt(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = refused_refund(harness, fake_stripe)
    fake_stripe.payment_intents[PI]["disputed"] = False
    [replacement] = approve(harness, decision_id)
    harness.drain()
    [first] = [r.id for r in harness.rows(refund_attempts, decision_id=decision_id)
               if r.id != replacement]
    api = Api(harness)

    def put(attempt_id: str, status: str) -> None:
        # set up a state directly (not journalled): only the filter's reading of it is tested
        with write_tx(harness.runtime.engine) as conn:
            conn.execute(update(refund_attempts).where(refund_attempts.c.id == attempt_id)
                         .values(status=status))

    for status in ("pending", "in_progress", "sent", "unknown", "canceled", "succeeded"):
        put(replacement, status)
        assert api.ids(status) == [decision_id], status
        api.agrees_with_shown()
    put(first, "canceled")  # no longer a failed attempt, so it speaks again: canceled + succeeded
    assert (api.ids("mixed"), api.ids("succeeded"), api.ids("failed")) == ([decision_id], [], [])
    api.agrees_with_shown()
