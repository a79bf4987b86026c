"""A withdrawal whose goods never came back: its return expired (not sent by its return-by
date and grace), its held refund was canceled, and nothing is owed until the goods or proof of
sending arrive (the law lets the shop wait for them). Finance reads it as expired, with nothing
refunded, never as a refund "in progress" past its legal deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import refund_attempts, return_shipments
from tests.fakes import Clock
from tests.integration.withdrawal.conftest import Shop, words


def test_a_withdrawal_whose_return_expired_reads_expired_not_in_progress_and_overdue(
    shop: Shop, clock: Clock,
) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    shop.h.drain()
    assert [a.status for a in shop.h.rows(refund_attempts)] == ["held"]

    desk = shop.h.runtime.shipping_desk
    assert desk is not None
    [ret] = shop.h.rows(return_shipments)
    clock.now = aware(ret.return_by) + timedelta(days=ret.grace_days, seconds=1)
    assert [r.decision_id for r in desk.expire_due()] == [ret.decision_id]
    assert [a.status for a in shop.h.rows(refund_attempts)] == ["canceled"]

    auth = {"Authorization": "Bearer "
            + create_token(shop.h.runtime.engine, "Fin", "finance", clock()).secret}
    [listed] = shop.h.client().get("/api/withdrawals", headers=auth).json["data"]
    page = shop.h.client().get("/finance/summary?since=2026-11-20&until=2026-11-25",
                               headers=auth)

    assert {k: listed[k] for k in ("status", "refunded", "refunded_at", "met", "overdue")} == {
        "status": "expired", "refunded": 0, "refunded_at": None, "met": None, "overdue": False}
    assert "0 past the legal deadline" in words(page)
    assert "2026-12-08 12:00 UTC expired 55.00 USD" in words(page)
