"""A withdrawal whose refund Stripe refused once and that a person then had paid again on
approval is refunded: the refused first attempt, which the approval replaced (journal
``retry_of``), no longer speaks for it, as it does not for the decision's money status or the
summary's promise keeping. Finance must not read it as failed and past its legal deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import refund_attempts, withdrawals
from tests.fakes import Clock
from tests.integration.withdrawal.conftest import Shop, words
from tests.integration.withdrawal.test_withdrawal_truth import PAYS_AT_APPROVAL


def test_a_withdrawal_refused_once_then_paid_on_approval_is_refunded_in_time(
    shop_with: Callable[..., Shop], clock: Clock,
) -> None:
    shop = shop_with(PAYS_AT_APPROVAL, stripe_api_key="sk_live_fake")
    shop.paid()
    shop.stripe.fake.dispute("pi_1001")  # Stripe refuses a refund of a disputed charge
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    shop.h.drain()
    [row] = shop.h.rows(withdrawals)
    [refused] = shop.h.rows(refund_attempts)
    assert (refused.status, refused.amount) == ("failed", 5500)

    clock.now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    shop.stripe.fake.payment_intents["pi_1001"]["disputed"] = False
    decide(shop.h.runtime.engine, shop.h.runtime.service, row.decision_id, approve=True,
           by="Ada Admin", note="dispute won", now=clock())
    shop.h.drain()
    assert sorted(a.status for a in shop.h.rows(refund_attempts)) == ["failed", "succeeded"]

    clock.now = datetime(2026, 12, 8, 12, 0, 8, tzinfo=UTC)  # a second past the deadline
    auth = {"Authorization": "Bearer "
            + create_token(shop.h.runtime.engine, "Fin", "finance", clock()).secret}
    [listed] = shop.h.client().get("/api/withdrawals", headers=auth).json["data"]
    summary = shop.h.client().get("/api/summary?since=2026-11-20&until=2026-11-25",
                                  headers=auth).json["withdrawals"]
    page = shop.h.client().get("/finance/summary?since=2026-11-20&until=2026-11-25",
                               headers=auth)

    assert {k: listed[k] for k in ("status", "amount", "refunded", "refunded_at", "met",
                                   "overdue")} == {
        "status": "refunded", "amount": 5500, "refunded": 5500,
        "refunded_at": "2026-11-26T09:30:00+00:00", "met": True, "overdue": False}
    assert (summary["received"], summary["overdue"]) == (1, 0)
    assert "0 past the legal deadline" in words(page)
    assert "refunded in time" in words(page)
