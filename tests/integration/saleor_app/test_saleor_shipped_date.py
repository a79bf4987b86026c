"""An order's shipping date survives Saleor deleting the fulfillment that carried it: a return
that empties a FULFILLED fulfillment makes Saleor delete it (``create_fulfillments_for_returned_
products``: fulfillments with no line left are deleted) and stamp the RETURNED one with the
return's time. The service keeps the earliest shipping date it saw, so the return window of
what is left does not start again from a later shipment, nor from the return."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import orders
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.integration.saleor_app.conftest import install

ORDER = "T3JkZXI6MQ=="
SHIRT, MUG = "T3JkZXJMaW5lOjE=", "T3JkZXJMaW5lOjI="
POLICY = """
name: thirty-days-from-shipping
title: Full refund within 30 days of shipping.
window: {days: 30, start: fulfilment, outside: decline}
reasons: {changed_mind: accept, too_small: accept, too_large: accept, other: accept}
resolution: {default: refund, allow: [refund]}
shipping: {refund_with_last_item: false, refund_on_merchant_fault: true}
"""
FIRST_SHIPPED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _fulfilled_at(engine: object) -> datetime | None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return aware(conn.execute(select(orders.c.fulfilled_at)
                                  .where(orders.c.order_id == ORDER)).scalar_one())


def test_a_return_that_empties_the_first_shipment_keeps_the_orders_shipping_date(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    shop = install(any_db_url, clock, saleor, tmp_path / "policy.yaml", POLICY)
    try:
        order = saleor.add_order(ORDER, lines=[(SHIRT, 1, "20.00"), (MUG, 1, "10.00")],
                                 paid_at="2026-11-01T09:00:00+00:00")
        # shipped in two parcels: the shirt on 1 November, the mug on 10 November
        [first] = order["fulfillments"]
        second_line = first["lines"].pop()
        first["created"] = FIRST_SHIPPED.isoformat()
        order["fulfillments"].append({"id": "RnVsZmlsbG1lbnQ6Mg==", "status": "FULFILLED",
                                      "created": "2026-11-10T10:00:00+00:00",
                                      "lines": [second_line]})
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        assert _fulfilled_at(shop.engine) == FIRST_SHIPPED

        answer = shop.return_request(ORDER, [(SHIRT, 1, "changed_mind")]).get_json()
        assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2000)
        shop.executor.drain()
        # Saleor moved the shirt into a RETURNED fulfillment made now and deleted the emptied
        # first parcel: its date is nowhere in Saleor's order any more
        assert [(f["status"], f["created"]) for f in order["fulfillments"]] == [
            ("FULFILLED", "2026-11-10T10:00:00+00:00"),
            ("RETURNED", "2026-11-24T12:00:00+00:00")]
        resp = shop.webhook("ORDER_UPDATED", ORDER)  # Saleor's signed word on the change
        assert (resp.status_code, resp.get_json()["duplicate"]) == (200, False)

        assert _fulfilled_at(shop.engine) == FIRST_SHIPPED

        # 32 days after the first parcel: the mug is outside the window that started then
        # (from the second parcel it would still be inside, until 10 December)
        clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        late = shop.return_request(ORDER, [(MUG, 1, "changed_mind")]).get_json()
        assert (late["outcome"], late["refund_amount"]) == ("decline", 0)
        assert late["explanation"] == (
            "We're sorry, we can't accept this return. The 30-day return window for Shirt (M) "
            "has passed (32 days since fulfilment).")
        assert _fulfilled_at(shop.engine) == FIRST_SHIPPED
    finally:
        shop.close()


def test_a_fulfillment_staff_canceled_gives_its_date_up_to_the_next_shipment(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    """Saleor keeps a canceled fulfillment (CANCELED, the units unfulfilled again): the parcel
    never left, so the order's shipping date is the next fulfillment's, later."""
    shop = install(any_db_url, clock, saleor, tmp_path / "policy.yaml", POLICY)
    try:
        order = saleor.add_order(ORDER, lines=[(SHIRT, 1, "20.00")],
                                 paid_at="2026-11-01T09:00:00+00:00")
        [first] = order["fulfillments"]
        first["created"] = FIRST_SHIPPED.isoformat()
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        assert _fulfilled_at(shop.engine) == FIRST_SHIPPED

        first["status"] = "CANCELED"
        order["fulfillments"].append({"id": "RnVsZmlsbG1lbnQ6Mg==", "status": "FULFILLED",
                                      "created": "2026-11-10T10:00:00+00:00",
                                      "lines": [dict(fl) for fl in first["lines"]]})
        order["updatedAt"] = "2026-11-10T10:00:00+00:00"
        resp = shop.webhook("ORDER_UPDATED", ORDER)
        assert (resp.status_code, resp.get_json()["duplicate"]) == (200, False)

        assert _fulfilled_at(shop.engine) == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
        clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 23 days after it shipped
        answer = shop.return_request(ORDER, [(SHIRT, 1, "changed_mind")]).get_json()
        assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2000)
    finally:
        shop.close()


def test_a_fulfillment_waiting_for_approval_is_not_shipped(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    """WAITING_FOR_APPROVAL: staff have not approved the fulfillment (the channel does not
    approve them by itself), so nothing was sent: its date is no shipping date, and one the
    ledger stored for it before is given up for the parcel that did leave."""
    shop = install(any_db_url, clock, saleor, tmp_path / "policy.yaml", POLICY)
    try:
        order = saleor.add_order(ORDER, lines=[(SHIRT, 1, "20.00"), (MUG, 1, "10.00")],
                                 paid_at="2026-11-01T09:00:00+00:00")
        # the shirt's fulfillment, made on 1 November, still waits; the mug left on 10 November
        [first] = order["fulfillments"]
        mug_line = first["lines"].pop()
        first.update(status="WAITING_FOR_APPROVAL", created=FIRST_SHIPPED.isoformat())
        order["fulfillments"].append({"id": "RnVsZmlsbG1lbnQ6Mg==", "status": "FULFILLED",
                                      "created": "2026-11-10T10:00:00+00:00",
                                      "lines": [mug_line]})
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        assert _fulfilled_at(shop.engine) == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)

        # a date stored for the waiting fulfillment (by the code before this) is given up on
        # Saleor's next word on the order
        with shop.engine.begin() as conn:
            conn.execute(update(orders).where(orders.c.order_id == ORDER)
                         .values(fulfilled_at=FIRST_SHIPPED))
        order["updatedAt"] = "2026-11-24T11:00:00+00:00"
        resp = shop.webhook("ORDER_UPDATED", ORDER)
        assert (resp.status_code, resp.get_json()["duplicate"]) == (200, False)
        assert _fulfilled_at(shop.engine) == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)

        clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 23 days after the mug left
        answer = shop.return_request(ORDER, [(MUG, 1, "changed_mind")]).get_json()
        assert (answer["outcome"], answer["refund_amount"]) == ("approve", 1000)
    finally:
        shop.close()


def test_an_order_whose_only_fulfillment_was_canceled_has_no_shipping_date(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    """Staff canceled the one fulfillment (Saleor keeps it, CANCELED): nothing left the shop,
    so the order has no shipping date, and a window that counts from fulfilment counts from
    the payment instead (``window.start``: the first known of delivery, fulfilment, payment),
    and says so."""
    shop = install(any_db_url, clock, saleor, tmp_path / "policy.yaml", POLICY)
    try:
        order = saleor.add_order(ORDER, lines=[(SHIRT, 1, "20.00")],
                                 paid_at="2026-11-01T09:00:00+00:00")
        [first] = order["fulfillments"]
        first["created"] = FIRST_SHIPPED.isoformat()
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        assert _fulfilled_at(shop.engine) == FIRST_SHIPPED

        first["status"] = "CANCELED"
        order["updatedAt"] = "2026-11-02T10:00:00+00:00"
        resp = shop.webhook("ORDER_UPDATED", ORDER)
        assert (resp.status_code, resp.get_json()["duplicate"]) == (200, False)

        assert _fulfilled_at(shop.engine) is None
        clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        answer = shop.return_request(ORDER, [(SHIRT, 1, "changed_mind")]).get_json()
        assert (answer["outcome"], answer["refund_amount"]) == ("decline", 0)
        assert answer["explanation"] == (
            "We're sorry, we can't accept this return. The 30-day return window for Shirt (M) "
            "has passed (32 days since payment).")
        assert _fulfilled_at(shop.engine) is None
    finally:
        shop.close()
