"""What the withdrawal pages and finance say is true: in a dry run no money moves, so finance never
reads a withdrawal as refunded (status ``dry_run``, nothing refunded, its deadline neither met
nor overdue), nor one Stripe refunded in its test mode (``test_mode``, likewise); an order with
nothing left to withdraw from says so before asking anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.withdrawals import COLUMNS
from refunds_plugin.ledger.tables import refund_attempts, withdrawals
from tests.fakes import Clock
from tests.integration.withdrawal.conftest import EMAIL, Shop, words

PAYS_AT_APPROVAL = "currency: USD\nwindow: {days: 30, start: delivery}\n"


def test_a_dry_run_withdrawal_is_shown_as_a_dry_run_never_as_refunded_in_time(
    shop_with: Callable[..., Shop], clock: Clock,
) -> None:
    shop = shop_with(PAYS_AT_APPROVAL, stripe_api_key="")  # no key: the dry run
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    shop.h.drain()
    [row] = shop.h.rows(withdrawals)
    [attempt] = shop.h.rows(refund_attempts)
    assert (attempt.provider, attempt.status, attempt.amount) == ("dryrun", "succeeded", 5500)
    auth = {"Authorization": "Bearer "
            + create_token(shop.h.runtime.engine, "Fin", "finance", clock()).secret}

    clock.now = datetime(2026, 12, 8, 12, 0, 8, tzinfo=UTC)  # a second past the deadline
    listed = shop.h.client().get("/api/withdrawals", headers=auth).json
    csv = shop.h.client().get("/api/withdrawals?format=csv", headers=auth)
    page = shop.h.client().get("/finance/summary?since=2026-11-20&until=2026-11-25",
                               headers=auth)

    assert listed == {"data": [{
        "withdrawal_id": row.id, "order_id": "1001", "name": "Anna Schmidt", "email": EMAIL,
        "lines": [{"line_id": "l1", "name": "Mug", "quantity": 2}],
        "received_at": "2026-11-24T12:00:07+00:00",
        "legal_deadline": "2026-12-08T12:00:07+00:00", "in_period": True,
        "decision_id": row.decision_id, "status": "dry_run", "currency": "USD", "amount": 5500,
        "refunded": 0, "refunded_at": None, "met": None, "overdue": False}]}
    # the amounts also in major units, after the other columns, as every finance CSV's
    assert csv.get_data(as_text=True).splitlines() == [
        ",".join(COLUMNS) + ",amount_decimal,refunded_decimal",
        f"{row.id},1001,Anna Schmidt,{EMAIL},2 x Mug,2026-11-24T12:00:07+00:00,"
        f"2026-12-08T12:00:07+00:00,True,{row.decision_id},dry_run,USD,5500,0,,,False,"
        "55.00,0.00"]
    assert ("2026-11-24 12:00 UTC 1001 Anna Schmidt 2026-12-08 12:00 UTC dry run 55.00 USD "
            "dry run: no money moved") in words(page)
    assert "refunded in time" not in words(page)


def test_a_withdrawal_stripe_refunded_in_test_mode_is_shown_as_test_mode_never_refunded(
    shop_with: Callable[..., Shop], clock: Clock,
) -> None:
    shop = shop_with(PAYS_AT_APPROVAL, stripe_api_key="sk_test_fake")  # Stripe's test mode
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    shop.h.drain()
    [attempt] = shop.h.rows(refund_attempts)
    assert (attempt.provider, attempt.status, attempt.livemode) == ("stripe", "succeeded", False)
    auth = {"Authorization": "Bearer "
            + create_token(shop.h.runtime.engine, "Fin", "finance", clock()).secret}

    clock.now = datetime(2026, 12, 8, 12, 0, 8, tzinfo=UTC)  # a second past the deadline
    [listed] = shop.h.client().get("/api/withdrawals", headers=auth).json["data"]
    page = shop.h.client().get("/finance/summary?since=2026-11-20&until=2026-11-25",
                               headers=auth)

    assert {k: listed[k] for k in ("status", "amount", "refunded", "refunded_at", "met",
                                   "overdue")} == {
        "status": "test_mode", "amount": 5500, "refunded": 0, "refunded_at": None,
        "met": None, "overdue": False}
    assert ("2026-11-24 12:00 UTC 1001 Anna Schmidt 2026-12-08 12:00 UTC test mode 55.00 USD "
            "Stripe test mode: no real money moved") in words(page)
    assert "0 past the legal deadline" in words(page)
    assert "refunded in time" not in words(page)


def test_an_order_whose_every_item_is_already_in_a_return_says_so_before_the_form(
    shop_with: Callable[..., Shop],
) -> None:
    shop = shop_with(PAYS_AT_APPROVAL, stripe_api_key="")
    shop.paid()
    shop.withdraw(shop.h.client())  # the whole order: a return for every unit
    before = shop.recorded()

    again = shop.open(shop.h.client())

    assert again.status_code == 200
    assert "A return has been requested for everything in this order." in words(again)
    assert "Your full name" not in words(again)  # no form asking for what cannot be sent
    assert shop.recorded() == before
