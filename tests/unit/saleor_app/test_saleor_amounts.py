"""Saleor's decimal amounts ↔ our integer minor units, at the provider boundary only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refunds_plugin.saleor.order import decimal_amount, minor, order_from_saleor


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("12.5"), "USD", 1250),
        (Decimal("12.50"), "USD", 1250),
        (Decimal("0.1"), "EUR", 10),
        (Decimal("1500"), "JPY", 1500),
        (Decimal("1500.0"), "JPY", 1500),
        (Decimal("1.234"), "KWD", 1234),
        (Decimal("19.990000000000002"), "USD", 1999),  # float noise from Saleor's Float
    ],
)
def test_saleor_money_becomes_exact_minor_units(amount, currency, expected):
    assert minor({"amount": amount, "currency": currency}, currency) == expected


@pytest.mark.parametrize(
    ("units", "currency", "text"),
    [(1250, "USD", "12.50"), (5, "USD", "0.05"), (1500, "JPY", "1500"), (1234, "KWD", "1.234")],
)
def test_minor_units_become_the_decimal_string_saleor_takes(units, currency, text):
    assert decimal_amount(units, currency) == text


def test_an_amount_in_another_currency_than_the_order_is_refused():
    with pytest.raises(ValueError, match="EUR on an order in USD"):
        minor({"amount": Decimal("1"), "currency": "EUR"}, "USD")


def _order(**changes):
    order = {
        "id": "O1", "number": "7", "created": "2026-11-01T10:00:00+00:00",
        "updatedAt": "2026-11-02T10:00:00+00:00", "status": "FULFILLED", "chargeStatus": "FULL",
        "userEmail": "guest@example.com", "channel": {"slug": "jp", "currencyCode": "JPY"},
        "user": None,
        "total": {"gross": {"amount": Decimal("3500"), "currency": "JPY"}},
        "shippingPrice": {"gross": {"amount": Decimal("500"), "currency": "JPY"}},
        "lines": [{"id": "L1", "productName": "Tea", "variantName": "", "productSku": None,
                   "quantity": 2, "variant": None,
                   "unitPrice": {"gross": {"amount": Decimal("1500"), "currency": "JPY"}}}],
        "fulfillments": [{"id": "F1", "status": "FULFILLED",
                          "created": "2026-11-03T10:00:00+00:00",
                          "lines": [{"id": "FL1", "quantity": 2, "orderLine": {"id": "L1"}}]}],
        "transactions": [{"id": "T1", "actions": ["REFUND"],
                          "createdBy": {"__typename": "App", "isActive": True},
                          "chargedAmount": {"amount": Decimal("3500"),
                                                         "currency": "JPY"},
                          "refundedAmount": {"amount": Decimal("0"), "currency": "JPY"},
                          "refundPendingAmount": {"amount": Decimal("0"), "currency": "JPY"},
                          "events": [{"type": "CHARGE_SUCCESS",
                                      "createdAt": "2026-11-01T10:05:00+00:00"}]}],
        "grantedRefunds": [],
    }
    order.update(changes)
    return order


def test_a_guest_jpy_order_becomes_an_order_record_with_saleor_ids_in_extra():
    so = order_from_saleor(_order(), "https://shop.example.com/graphql/")
    rec = so.record
    assert (rec.currency, rec.total_amount, rec.shipping_amount) == ("JPY", 3500, 500)
    assert [(ln.id, ln.quantity, ln.unit_amount, ln.name) for ln in rec.lines] == [
        ("L1", 2, 1500, "Tea")]
    assert (rec.customer.id, rec.customer.email, rec.channel) == (None, "guest@example.com", "jp")
    assert rec.paid_at is not None and rec.paid_at.isoformat() == "2026-11-01T10:05:00+00:00"
    assert rec.fulfilled_at is not None and rec.fulfilled_at.day == 3
    assert rec.extra == {"saleor": {
        "api_url": "https://shop.example.com/graphql/", "order_number": "7", "channel": "jp",
        "user_id": None, "fulfillment_lines": {"L1": [["FL1", 2, "FULFILLED"]]},
        "transactions": ["T1"]}, "unrefundable": {}}
    assert [(p.reference, p.captured) for p in so.payments] == [("T1", 3500)]
    assert so.fully_paid and so.order_count is None


def test_the_state_hash_changes_with_money_and_not_with_unrelated_fields():
    base = order_from_saleor(_order(), "u").state_hash
    assert order_from_saleor(_order(number="8"), "u").state_hash == base
    refunded = _order()
    refunded["transactions"][0]["refundedAmount"]["amount"] = Decimal("1500")
    assert order_from_saleor(refunded, "u").state_hash != base


def _line(**prices):
    return {"id": "L1", "productName": "Tea", "variantName": "", "productSku": "TEA",
            "quantity": 2, "variant": None,
            **{k: {"gross": {"amount": Decimal(v), "currency": "JPY"}} for k, v in prices.items()}}


@pytest.mark.parametrize(
    ("prices", "unit", "total"),
    [
        # a line discount: listed 1500, charged 1200 a unit, 2400 the line
        ({"unitPrice": "1200", "undiscountedUnitPrice": "1500", "totalPrice": "2400"},
         1500, 2400),
        # read before the list price was asked for: the unit price is all that is known
        ({"unitPrice": "1200", "totalPrice": "2400"}, 1200, 2400),
        ({"unitPrice": "1200"}, 1200, None),
        # no line total, but a list price above the unit price: what was charged is still kept
        ({"unitPrice": "1200", "undiscountedUnitPrice": "1500"}, 1500, 2400),
        ({"unitPrice": "1500", "undiscountedUnitPrice": "1500"}, 1500, None),
    ],
)
def test_a_line_keeps_its_list_price_and_what_was_charged_for_it(prices, unit, total):
    [line] = order_from_saleor(_order(lines=[_line(**prices)]), "https://s/graphql/").record.lines
    assert (line.unit_amount, line.total_amount) == (unit, total)
    assert line.amount == (total or unit * 2)  # what a return of both units is worth


@pytest.mark.parametrize(
    ("status", "shipped"),
    [("FULFILLED", True), ("RETURNED", True), ("REFUNDED_AND_RETURNED", True),
     ("REPLACED", True), ("WAITING_FOR_APPROVAL", False), ("CANCELED", False),
     ("REFUNDED", False)],
)
def test_only_a_fulfillment_whose_goods_left_gives_the_order_a_shipping_date(status, shipped):
    """Every ``FulfillmentStatus`` of Saleor 3.20–3.23: sent, or sent and come back, counts;
    waiting for approval, canceled and refunded (units that may never have been sent) not."""
    fulfillment = {"id": "FL", "status": status, "created": "2026-11-03T08:00:00+00:00",
                   "lines": [{"id": "FL1", "quantity": 2, "orderLine": {"id": "L1"}}]}
    so = order_from_saleor(_order(fulfillments=[fulfillment]), "https://shop.example.com/")
    when = so.record.fulfilled_at
    assert (when.isoformat() if when else None) == (
        "2026-11-03T08:00:00+00:00" if shipped else None)
    assert [t.isoformat() for t in so.unsent] == (
        [] if shipped else ["2026-11-03T08:00:00+00:00"])
