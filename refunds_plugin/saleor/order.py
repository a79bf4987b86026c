"""A re-queried Saleor order turned into ledger facts: the order, its payments, its refunds.

Saleor's money arrives as decimals in major units (parsed as ``Decimal``, never a float) and
leaves this module as integer minor units. Saleor ids the executor needs later — the API URL,
channel slug, fulfilment lines, transactions — go into ``orders.extra`` under ``"saleor"``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from refunds_plugin.domain.facts import Customer, OrderLine
from refunds_plugin.ledger.orders import OrderRecord
from refunds_plugin.money import Money, exponent, normalize_currency
from refunds_plugin.saleor.tags import FINAL_SALE_KEY, line_tags

PAID = ("FULL", "OVERCHARGED")
# fulfillments whose lines a return takes first (Saleor accepts FULFILLED, REFUNDED and
# WAITING_FOR_APPROVAL fulfillment lines; the rest of a return comes from the order line)
RETURNABLE = ("FULFILLED", "WAITING_FOR_APPROVAL")
RETURNED = ("RETURNED", "REFUNDED_AND_RETURNED")
# fulfillments whose goods left the shop: sent (FULFILLED), or sent and come back (a return's
# RETURNED, REFUNDED_AND_RETURNED, REPLACED). Not WAITING_FOR_APPROVAL (staff have not approved
# it: nothing is sent), CANCELED (staff took it back before it left) or REFUNDED (refunded
# lines, which ``orderFulfillmentRefundProducts`` also takes from units never sent)
LEFT = ("FULFILLED", *RETURNED, "REPLACED")


def minor(money: dict[str, Any] | None, currency: str) -> int:
    """Saleor ``{amount, currency}`` → integer minor units (JPY 1500 → 1500, USD 12.5 → 1250)."""
    if not money:
        return 0
    cur = normalize_currency(money.get("currency") or currency)
    if cur != currency:
        raise ValueError(f"amount in {cur} on an order in {currency}")
    value = Decimal(str(money["amount"]))
    quantum = Decimal(1).scaleb(-exponent(cur))
    return Money.parse(value.quantize(quantum, rounding=ROUND_HALF_EVEN), cur).minor


def decimal_amount(amount: int, currency: str) -> str:
    """Integer minor units → the decimal string Saleor's ``PositiveDecimal`` takes."""
    return Money(amount, currency).decimal_string()


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class TransactionEvent:
    id: str
    type: str  # REFUND_REQUEST | REFUND_SUCCESS | REFUND_FAILURE | CHARGE_SUCCESS ...
    created: datetime | None
    amount: int
    psp: str = ""  # the payment app's reference (``pspReference``; "" when it gave none)


@dataclass(frozen=True)
class SaleorPayment:
    reference: str  # TransactionItem id
    captured: int  # charged + refunded + refundPending: Saleor's chargedAmount is net of both
    refunded: int
    pending: int
    created: datetime | None = None  # Saleor's createdAt: which payment came first
    events: tuple[TransactionEvent, ...] = ()


@dataclass(frozen=True)
class GrantedRefund:
    id: str
    status: str  # NONE | PENDING | SUCCESS | FAILURE
    amount: int
    transaction_id: str | None
    reason: str
    events: tuple[str, ...] = ()  # its transaction events (REFUND_REQUEST ...), Saleor 3.20+


@dataclass(frozen=True)
class SaleorOrder:
    record: OrderRecord
    payments: tuple[SaleorPayment, ...]
    granted_refunds: tuple[GrantedRefund, ...]
    fully_paid: bool
    order_count: int | None
    state_hash: str
    charge_status: str | None = None  # NONE | PARTIAL | FULL | OVERCHARGED
    total_balance: int | None = None  # charged minus what is owed, minor units; > 0 overpaid
    # when its fulfillments whose goods never left (not in ``LEFT``: canceled, waiting for
    # approval) were made: a stored shipping date that was one of them is no shipping date
    # (``saleor.events.store_order``)
    unsent: frozenset[datetime] = frozenset()


def _paid_at(order: dict[str, Any]) -> datetime | None:
    times = [
        _when(ev.get("createdAt"))
        for tx in order.get("transactions") or []
        for ev in tx.get("events") or []
        if ev.get("type") == "CHARGE_SUCCESS"
    ]
    found = sorted(t for t in times if t is not None)
    if found:
        return found[-1]
    return _when(order.get("created")) if order.get("chargeStatus") in PAID else None


def refund_blocked(tx: dict[str, Any]) -> str | None:
    """Why Saleor cannot refund this transaction, or None.

    Saleor refunds only a transaction whose ``actions`` still offer REFUND (its owner sets
    them: a payment refunded in full, or one only authorized, offers none). It then sends
    TRANSACTION_REFUND_REQUESTED to the active app that created it (else
    MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK) — except a payment taken by Saleor's own
    gift-card gateway (3.22+), which it refunds itself onto the card: that transaction has an
    app identifier but no App, so ``createdBy`` is null. A null ``createdBy`` offering REFUND is
    therefore taken as refundable (an app removed since it took the payment looks the same: that
    refund fails and goes to a person); a staff user's transaction, or a switched-off app's, is
    not."""
    if "REFUND" not in (tx.get("actions") or []):
        return ("The payment provider no longer offers a refund of this order's payment, so it "
                "can't be refunded automatically")
    by = tx.get("createdBy") or {}
    if not by or (by.get("__typename") == "App" and by.get("isActive")):
        return None
    if by.get("__typename") == "App":
        return ("The payment app that took this order's payment is switched off, so it can't "
                "be refunded automatically")
    if by.get("__typename") == "User":
        return ("This order's payment was recorded by our staff rather than taken by a payment "
                "app, so it can't be refunded automatically")
    return "No payment app looks after this order's payment, so it can't be refunded automatically"


def shipping_address(address: dict[str, Any] | None) -> dict[str, str] | None:
    """Saleor's ``shippingAddress`` in our fields (as ``[[return_addresses]]``; its
    ``countryArea``, the state or province, as ``region`` where Saleor has one)."""
    if not address:
        return None
    name = " ".join(p for p in (address.get("firstName"), address.get("lastName")) if p)
    street = ", ".join(p for p in (address.get("streetAddress1"),
                                   address.get("streetAddress2")) if p)
    out = {"name": name or str(address.get("companyName") or ""), "street": street,
           "city": str(address.get("city") or ""),
           "postal_code": str(address.get("postalCode") or ""),
           "country": str((address.get("country") or {}).get("code") or "")}
    region = str(address.get("countryArea") or "")
    return out | ({"region": region} if region else {})


def _fulfillment_lines(order: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Order line id → [[fulfilment line id, quantity, status], ...]."""
    out: dict[str, list[list[Any]]] = {}
    for ful in order.get("fulfillments") or []:
        for fl in ful.get("lines") or []:
            line_id = (fl.get("orderLine") or {}).get("id")
            if line_id:
                out.setdefault(line_id, []).append([fl["id"], int(fl["quantity"]), ful["status"]])
    return out


def _unit_list(line: dict[str, Any], currency: str) -> int | None:
    """The line's ``undiscountedUnitPrice`` in minor units; None when the order was read without
    it (stored before it was asked for): ``unitPrice`` is then all that is known."""
    gross = (line.get("undiscountedUnitPrice") or {}).get("gross")
    return minor(gross, currency) if gross else None


def state_hash(order: dict[str, Any]) -> str:
    """What identifies this state of the order: a change to any of it is a new event."""
    relevant = {
        key: order.get(key)
        for key in (
            "updatedAt", "status", "chargeStatus", "totalCharged", "totalRefunded",
            "totalRefundPending", "totalGrantedRefund", "totalBalance", "grantedRefunds",
            "fulfillments",
        )
    }
    relevant["transactions"] = [
        {
            **{k: tx.get(k) for k in ("id", "chargedAmount", "refundedAmount",
                                      "refundPendingAmount")},
            "events": sorted(str(ev.get("id")) for ev in tx.get("events") or []),
        }
        for tx in order.get("transactions") or []
    ]
    text = json.dumps(relevant, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def order_from_saleor(
    order: dict[str, Any], api_url: str, final_sale_key: str = FINAL_SALE_KEY
) -> SaleorOrder:
    currency = normalize_currency(order["total"]["gross"]["currency"])
    user = order.get("user") or {}
    lines = []
    for ln in order.get("lines") or []:
        product = ((ln.get("variant") or {}).get("product")) or {}
        name = ln.get("productName") or ""
        if ln.get("variantName"):
            name = f"{name} ({ln['variantName']})"
        quantity = int(ln["quantity"])
        unit = minor(ln["unitPrice"]["gross"], currency)
        listed = _unit_list(ln, currency)
        lines.append(
            OrderLine(
                id=ln["id"],
                sku=ln.get("productSku") or "",
                name=name,
                quantity=quantity,
                # the list price, before the line's discounts (a promotion, a voucher): what an
                # exchange carries the discount over from (``policies/exchange``)
                unit_amount=unit if listed is None else listed,
                tags=line_tags(ln.get("variant"), final_sale_key),
                collections=tuple(c["slug"] for c in product.get("collections") or []),
                product_id=product.get("id"),
                # the charged total, not unit × quantity: an order voucher's share is rounded
                # into unitPrice (3 × 81.67 for a 245.00 line)
                total_amount=minor((ln.get("totalPrice") or {}).get("gross"), currency)
                if ln.get("totalPrice") else None if listed in (None, unit) else unit * quantity,
            )
        )
    fulfilled = sorted(
        t
        for t in (_when(f.get("created")) for f in order.get("fulfillments") or []
                  if f.get("status") in LEFT)
        if t is not None
    )
    payments = tuple(
        SaleorPayment(
            reference=tx["id"],
            # Saleor moves a refund request out of chargedAmount into refundPendingAmount, and on
            # success into refundedAmount: what was captured is all three
            captured=minor(tx.get("chargedAmount"), currency)
            + minor(tx.get("refundedAmount"), currency)
            + minor(tx.get("refundPendingAmount"), currency),
            refunded=minor(tx.get("refundedAmount"), currency),
            pending=minor(tx.get("refundPendingAmount"), currency),
            created=_when(tx.get("createdAt")),
            events=tuple(
                TransactionEvent(
                    id=str(ev.get("id") or ""),
                    type=str(ev.get("type") or ""),
                    created=_when(ev.get("createdAt")),
                    amount=minor(ev.get("amount"), currency),
                    psp=str(ev.get("pspReference") or ""),
                )
                for ev in tx.get("events") or []
            ),
        )
        for tx in order.get("transactions") or []
    )
    granted = tuple(
        GrantedRefund(
            id=gr["id"],
            status=gr.get("status") or "NONE",
            amount=minor(gr.get("amount"), currency),
            transaction_id=(gr.get("transaction") or {}).get("id"),
            reason=gr.get("reason") or "",
            events=tuple(str(ev["id"]) for ev in gr.get("transactionEvents") or []),
        )
        for gr in order.get("grantedRefunds") or []
    )
    channel = (order.get("channel") or {}).get("slug")
    extra = {
        "saleor": {
            "api_url": api_url,
            "order_number": order.get("number"),
            "channel": channel,
            "user_id": user.get("id"),
            "fulfillment_lines": _fulfillment_lines(order),
            "transactions": [p.reference for p in payments],
        },
        # read by ledger.facts into PaymentFacts.blocked: only an app can refund a transaction
        "unrefundable": {
            tx["id"]: why for tx in order.get("transactions") or []
            if (why := refund_blocked(tx)) is not None
        },
    }
    # where a return label is sent from, and which variant each line restocks (when known)
    ship_from = shipping_address(order.get("shippingAddress"))
    variants = {ln["id"]: (ln.get("variant") or {}).get("id") for ln in order.get("lines") or []
                if (ln.get("variant") or {}).get("id")}
    extra |= {k: v for k, v in (("shipping_address", ship_from), ("variants", variants)) if v}
    record = OrderRecord(
        order_id=order["id"],
        source="saleor",
        currency=currency,
        lines=tuple(lines),
        shipping_amount=minor((order.get("shippingPrice") or {}).get("gross"), currency),
        total_amount=minor(order["total"]["gross"], currency),
        customer=Customer(id=user.get("id"), email=order.get("userEmail") or user.get("email")),
        paid_at=_paid_at(order),
        fulfilled_at=fulfilled[0] if fulfilled else None,
        channel=channel,
        extra=extra,
        # Saleor's LanguageCodeEnum ("DE", "PT_BR") as a BCP 47 tag ("de", "pt-BR")
        locale=str(order["languageCodeEnum"]).replace("_", "-").lower()
        if order.get("languageCodeEnum") else None,
    )
    orders = (user.get("orders") or {}).get("totalCount")
    return SaleorOrder(
        record=record,
        payments=payments,
        granted_refunds=granted,
        fully_paid=order.get("chargeStatus") in PAID,
        order_count=int(orders) if orders is not None else None,
        state_hash=state_hash(order),
        charge_status=order.get("chargeStatus"),
        total_balance=(
            minor(order["totalBalance"], currency) if order.get("totalBalance") else None
        ),
        unsent=frozenset(t for f in order.get("fulfillments") or []
                         if f.get("status") not in LEFT
                         and (t := _when(f.get("created"))) is not None),
    )
