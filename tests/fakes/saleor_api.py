"""A fake Saleor behind ``responses``: one shop, its orders, granted refunds and gift cards.

It answers the GraphQL documents this project sends (by operation name), models what Saleor
guards — a granted refund requested twice (REFUND_IS_PENDING / REFUND_ALREADY_PROCESSED), more
than the transaction holds (AMOUNT_GREATER_THAN_AVAILABLE), lines granted again while any
earlier grant holds them, a failed one included (QUANTITY_GREATER_THAN_AVAILABLE), a refund
asked of a transaction no active app owns (MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK) — how
it books money (net ``chargedAmount``, the payment app answering later and silently: see
``saleor_payment_app``) — what its order lines carry (an
order voucher rounded into ``unitPrice`` while ``totalPrice`` keeps the line total; product and
variant metadata, product type, attributes, collections; a line-level discount, a promotion or
a line voucher, as ``undiscountedUnitPrice`` above ``unitPrice``) and signs webhooks the way Saleor
does: a detached RS256 JWS over the exact body bytes, key named by ``kid``, JWKS at the origin.

Returns: ``orderFulfillmentReturnProducts`` moves the units into a new RETURNED fulfillment each
time (Saleor keeps no idempotency key: the same return sent again is a second return), deletes a
fulfillment line it empties (and a FULFILLED fulfillment left with none: its ``created``, the
shipping date, goes with it), stamps the fulfillments it makes with the clock's time, and counts
an order line's units returned from the line itself as fulfilled. It refuses what Saleor's
``clean_input`` refuses, with its ``OrderError``: more units than a fulfillment line holds, or than
an order line has unfulfilled (INVALID_QUANTITY), a line of a fulfillment that is not FULFILLED,
REFUNDED or WAITING_FOR_APPROVAL (INVALID), an id it does not have (GRAPHQL_ERROR); and, stricter
than Saleor (which records it), a quantity below 1. A free order (``free=True``) costs 0 and has
no transaction, as a checkout completed without payment.

Exchanges: a return with ``replace: true`` lines makes a replacement draft order (``drafts``)
holding the returned variants and an ``ORDER_REPLACEMENT_CREATED`` event on the original naming
it; draft lines are added and deleted only while it is a draft; ``draftOrderComplete`` refuses a
non-draft and a variant short of ``stock`` (INSUFFICIENT_STOCK), and takes the stock. Products
(``products``) answer the variants query with price and ``quantityAvailable``.

The parts, one module each: the keys and signing (``saleor_keys``), an order's shapes
(``saleor_orders``), the refunds and gift cards (``saleor_refunds``), the replacement drafts
(``saleor_drafts``), the payment app (``saleor_payment_app``), what a return refuses
(``saleor_returns``). Their names tests import are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests
import responses
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.saleor_drafts import Drafts
from tests.fakes.saleor_keys import public_jwk, rsa_key, sign
from tests.fakes.saleor_orders import money, product, voucher_totals
from tests.fakes.saleor_payment_app import GIFT_CARD_GATEWAY, PAYMENT_APP
from tests.fakes.saleor_refunds import Refunds
from tests.fakes.saleor_returns import SHIPPED, refused_return

__all__ = ["API_URL", "APP_ID", "JWKS_URL", "QUERIES", "TOKEN", "FakeSaleor", "money", "product",
           "public_jwk", "rsa_key", "sign", "voucher_totals"]

API_URL = "https://shop.example.com/graphql/"
JWKS_URL = "https://shop.example.com/.well-known/jwks.json"
APP_ID = "QXBwOjE="
TOKEN = "saleor-app-token-1"

# the read-only operations: ``mutations()`` leaves them out
QUERIES = frozenset({"RefundsOrder", "AppId", "RefundsDraft", "RefundsReplacementOf",
                     "RefundsProductVariants", "RefundsVariantStock"})


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):  # Saleor's Money.amount is a GraphQL Float on the wire
        return float(value)
    raise TypeError(type(value).__name__)


class FakeSaleor(Refunds, Drafts):
    """The shop: its orders, keys and GraphQL endpoint, and its returns; the refunds and gift
    cards are ``Refunds``' (``saleor_refunds``), the replacement drafts ``Drafts``'
    (``saleor_drafts``), the payment app's answers ``PaymentApp``'s (``saleor_payment_app``)."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        *,
        currency: str = "USD",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.mock = mock
        self.clock = clock
        self.currency = currency
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = [("kid-1", rsa_key("one"))]
        self.jwks_fetches = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (operation, variables)
        self.gift_cards: list[dict[str, Any]] = []
        self.stocks: dict[tuple[str, str], int] = {}  # (variant id, warehouse id) → quantity
        self.drafts: dict[str, dict[str, Any]] = {}  # replacement orders, by id
        # variant id → units available to sell (what a draft's completion takes; the returns
        # page's stock), apart from the per-warehouse quantities a restock sets
        self.stock: dict[str, int] = {}
        self.products: dict[str, dict[str, Any]] = {}  # product id → {id, name, variants}
        self.fail: dict[str, list[Any]] = {}  # operation → queued failures
        self.deferred = []
        self.declines = []
        self.gateway = {}
        self.token = TOKEN
        self.app_id = APP_ID  # removing and installing the app again gives a new App
        self._n = 0
        mock.add_callback(responses.POST, API_URL, callback=self._graphql)
        mock.add_callback(responses.GET, JWKS_URL, callback=self._jwks)

    # --- keys and signing ---------------------------------------------------------------------
    def rotate(self, kid: str = "kid-2", name: str = "two") -> None:
        self.keys = [(kid, rsa_key(name))]

    def signed(self, body: bytes) -> str:
        kid, key = self.keys[0]
        return sign(body, key, kid)

    def _jwks(self, _request: Any) -> tuple[int, dict[str, str], str]:
        self.jwks_fetches += 1
        keys = [public_jwk(key, kid) for kid, key in self.keys]
        return 200, {"Content-Type": "application/json"}, json.dumps({"keys": keys})

    # --- the shop's state ---------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}:{self._n}"

    def add_order(
        self,
        order_id: str = "T3JkZXI6MQ==",
        *,
        lines: list[tuple[str, int, str]] | None = None,  # (line id, quantity, unit price)
        shipping: str = "5.00",
        email: str = "ann@example.com",
        paid_at: str = "2026-11-20T10:00:00+00:00",
        fulfilled: bool = True,
        voucher: str | None = None,  # an order voucher (ENTIRE_ORDER), spread over the lines
        # line id → its list unit price, where a line-level discount (a catalogue promotion, a
        # line voucher) made the unit price in ``lines`` lower; others are listed at that price
        listed: dict[str, str] | None = None,
        created_by: dict[str, Any] | None = None,  # who created the transaction (PAYMENT_APP)
        actions: tuple[str, ...] = ("REFUND",),  # what the transaction's owner still offers
        gift_card_payment: bool = False,  # paid with a gift card through Saleor's own gateway
        shipping_address: dict[str, Any] | None = None,  # Saleor's Address, as ORDER selects it
        free: bool = False,  # a 100% voucher or a giveaway: total 0, no transaction at all
    ) -> dict[str, Any]:
        cur = self.currency
        lines = lines or [("T3JkZXJMaW5lOjE=", 2, "10.00")]
        totals = voucher_totals([Decimal(p) * q for _, q, p in lines], Decimal(voucher or 0))
        total = sum(totals) + Decimal(shipping)
        order_lines = [
            {
                "id": lid, "productName": "Shirt", "variantName": "M", "productSku": "SHIRT-M",
                "quantity": qty, "quantityFulfilled": qty if fulfilled else 0,
                "variant": product(),
                # Saleor rounds the discounted unit price, so unit × quantity can miss the total
                "unitPrice": {"gross": money(str((line_total / qty).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP)), cur)},
                "totalPrice": {"gross": money(str(line_total), cur)},
                # before any discount, a line's own or its share of an order voucher
                "undiscountedUnitPrice": {"gross": money((listed or {}).get(lid, price), cur)},
            }
            for (lid, qty, price), line_total in zip(lines, totals, strict=True)
        ]
        fulfillments = []
        if fulfilled:
            fulfillments.append({
                "id": "RnVsZmlsbG1lbnQ6MQ==", "status": "FULFILLED", "created": paid_at,
                "lines": [
                    {"id": f"RnVsZmlsbG1lbnRMaW5lO{i}", "quantity": qty, "orderLine": {"id": lid}}
                    for i, (lid, qty, _) in enumerate(lines)
                ],
            })
        order = {
            "id": order_id, "number": "1001", "created": paid_at, "updatedAt": paid_at,
            "status": "FULFILLED" if fulfilled else "UNFULFILLED", "chargeStatus": "FULL",
            "userEmail": email, "channel": {"slug": "default-channel", "currencyCode": cur},
            "user": {"id": "VXNlcjox", "email": email, "orders": {"totalCount": 3}},
            "total": {"gross": money(str(total), cur)},
            "shippingPrice": {"gross": money(shipping, cur)},
            "totalCharged": money(str(total), cur),
            "totalRefunded": money("0", cur), "totalRefundPending": money("0", cur),
            "totalGrantedRefund": money("0", cur), "totalBalance": money("0", cur),
            "lines": order_lines,
            "fulfillments": fulfillments,
            "transactions": [{
                "id": "VHJhbnNhY3Rpb25JdGVtOjE=", "name": "Credit card", "pspReference": "psp_1",
                "createdAt": paid_at, "actions": list(actions),
                "createdBy": None if gift_card_payment else dict(created_by or PAYMENT_APP),
                "chargedAmount": money(str(total), cur),
                "refundedAmount": money("0", cur), "refundPendingAmount": money("0", cur),
                "events": [{"id": "ev1", "type": "CHARGE_SUCCESS", "createdAt": paid_at,
                            "pspReference": "psp_1", "amount": money(str(total), cur)}],
            }],
            "grantedRefunds": [],
            "shippingAddress": shipping_address,
        }
        if free:  # nothing to pay: Saleor's checkout completes with no payment, charged 0 of 0
            assert total == 0, "a free order's lines and shipping cost 0"
            order["transactions"] = []
        if gift_card_payment:
            self.gateway[order["transactions"][0]["id"]] = GIFT_CARD_GATEWAY
        self.orders[order_id] = order
        return order

    def add_transaction(
        self, order_id: str, amount: str, created_at: str, tx_id: str, *, psp: str = "psp_2"
    ) -> dict[str, Any]:
        """The payment app charges the order again (a double submit): Saleor flags OVERCHARGED
        and a positive ``totalBalance``."""
        order, cur = self.orders[order_id], self.currency
        tx = {
            "id": tx_id, "name": "Credit card", "pspReference": psp, "createdAt": created_at,
            "actions": ["REFUND"], "createdBy": dict(PAYMENT_APP),
            "chargedAmount": money(amount, cur),
            "refundedAmount": money("0", cur), "refundPendingAmount": money("0", cur),
            "events": [{"id": self._id("ev"), "type": "CHARGE_SUCCESS", "createdAt": created_at,
                        "pspReference": psp, "amount": money(amount, cur)}],
        }
        order["transactions"].append(tx)
        order["totalCharged"]["amount"] += Decimal(amount)
        self._charge_status(order)
        self._touch(order)
        return tx

    def _charge_status(self, order: dict[str, Any]) -> None:
        """Saleor's ``update_order_charge_data``: balance = charged − (total − granted)."""
        owed = order["total"]["gross"]["amount"] - order["totalGrantedRefund"]["amount"]
        balance = order["totalCharged"]["amount"] - owed
        order["totalBalance"]["amount"] = balance
        order["chargeStatus"] = "OVERCHARGED" if balance > 0 else "FULL" if balance == 0 else (
            "PARTIAL" if order["totalCharged"]["amount"] > 0 else "NONE")

    def _touch(self, order: dict[str, Any]) -> None:
        self._n += 1
        order["updatedAt"] = f"2026-11-24T12:00:{self._n:02d}+00:00"

    def mutations(self, name: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        return [c for c in self.calls if c[0] not in QUERIES
                and not c[0].startswith("RefundsGiftCardsBy")
                and (name is None or c[0] == name)]

    # --- GraphQL ------------------------------------------------------------------------------
    def _graphql(self, request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            error = {"message": "Invalid token",
                     "extensions": {"exception": {"code": "JSONWebTokenError"}}}
            return self._reply({"errors": [error]}, status=401)
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        op = query.split("(")[0].split("{")[0].split()[-1]
        failure = self.fail.get(op, [None]).pop(0) if self.fail.get(op) else None
        if failure == "network_before":
            raise requests.ConnectionError("connection reset before Saleor saw the request")
        if failure == "permission":
            self.calls.append((op, variables))
            field = {"RefundsGrantRefund": "orderGrantRefundCreate"}.get(op, op)
            return self._reply({"data": {field: None}, "errors": [{
                "message": "You need one of the following permissions: MANAGE_ORDERS",
                "extensions": {"exception": {"code": "PermissionDenied"}}}]})
        self.calls.append((op, variables))
        self.run_tasks()  # Celery ran what earlier requests queued before this one arrived
        answer = getattr(self, f"_op_{op}")(variables)
        if failure == "network_after":
            raise requests.ConnectionError("connection reset after Saleor did the work")
        return self._reply({"data": answer})

    def _reply(self, body: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(body, default=_encode)

    def _op_AppId(self, _v: dict[str, Any]) -> dict[str, Any]:
        return {"app": {"id": self.app_id}}

    def _variant(self, variant_id: str) -> dict[str, Any]:
        return {"id": variant_id, "stocks": [
            {"warehouse": {"id": w}, "quantity": q}
            for (var, w), q in sorted(self.stocks.items()) if var == variant_id]}

    def _op_RefundsVariantStock(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"productVariant": self._variant(v["id"])}

    def _op_RefundsRestock(self, v: dict[str, Any]) -> dict[str, Any]:
        """``productVariantStocksUpdate`` sets each warehouse's quantity (it does not add)."""
        errors = []
        for i, stock in enumerate(v["stocks"]):
            if stock["quantity"] < 0:
                errors.append({"field": "quantity", "code": "INVALID", "index": i,
                               "message": "Quantity must be 0 or more."})
            else:
                self.stocks[(v["variantId"], stock["warehouse"])] = stock["quantity"]
        return {"productVariantStocksUpdate": {
            "productVariant": self._variant(v["variantId"]), "errors": errors}}

    def _op_RefundsOrder(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"order": self.orders.get(v["id"])}

    def _op_RefundsReturnProducts(self, v: dict[str, Any]) -> dict[str, Any]:
        """Saleor's ``create_fulfillments_for_returned_products``, after its ``clean_input``
        (``saleor_returns.refused_return``): lines marked ``replace`` move into a REPLACED
        fulfillment and a replacement draft order named by an ORDER_REPLACEMENT_CREATED event on
        the original; the rest into a RETURNED one, made even when empty. An order line's units
        count as fulfilled; an emptied fulfillment line is deleted, then a FULFILLED fulfillment
        left with no line."""
        order = self.orders[v["order"]]
        refused = refused_return(order, v["input"])
        if refused is not None:
            return {"orderFulfillmentReturnProducts": {
                "returnFulfillment": None, "replaceOrder": None, "order": None,
                "errors": [refused]}}
        by_line = {ln["id"]: ln for ln in order["lines"]}
        by_fl = {fl["id"]: fl for ful in order["fulfillments"] for fl in ful["lines"]}
        moved: dict[bool, list[tuple[str, int]]] = {False: [], True: []}  # replace → units
        for ol in v["input"].get("orderLines") or []:
            by_line[ol["orderLineId"]]["quantityFulfilled"] += ol["quantity"]
            moved[bool(ol.get("replace"))].append((ol["orderLineId"], ol["quantity"]))
        for fl_in in v["input"].get("fulfillmentLines") or []:
            fl = by_fl[fl_in["fulfillmentLineId"]]
            fl["quantity"] -= fl_in["quantity"]
            moved[bool(fl_in.get("replace"))].append((fl["orderLine"]["id"], fl_in["quantity"]))
        for ful in order["fulfillments"]:
            ful["lines"] = [fl for fl in ful["lines"] if fl["quantity"] > 0]
        order["fulfillments"] = [f for f in order["fulfillments"]
                                 if f["lines"] or f["status"] not in SHIPPED]

        # Saleor stamps a fulfillment it makes with the time of the call (``created``)
        made_at = self.clock().isoformat() if self.clock else order["updatedAt"]

        def fulfillment(status: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
            made = {"id": self._id("RnVsZmlsbG1lbnQ"), "status": status,
                    "created": made_at, "lines": [
                        {"id": self._id("FL"), "quantity": q, "orderLine": {"id": lid}}
                        for lid, q in lines]}
            order["fulfillments"].append(made)
            return made

        ret = fulfillment("RETURNED", moved[False])
        draft = None
        if moved[True]:
            fulfillment("REPLACED", moved[True])
            draft = {"id": self._id("T3JkZXI"), "status": "DRAFT", "original": order["id"],
                     "lines": [{"id": self._id("T3JkZXJMaW5l"), "quantity": q,
                                "variant": {"id": by_line[lid]["variant"]["id"]}}
                               for lid, q in moved[True]]}
            self.drafts[draft["id"]] = draft
            order.setdefault("events", []).append({
                "id": self._id("T3JkZXJFdmVudA"), "type": "ORDER_REPLACEMENT_CREATED",
                "relatedOrder": {"id": draft["id"]}})
        if moved[False]:
            order["status"] = "PARTIALLY_RETURNED"
        self._touch(order)
        return {"orderFulfillmentReturnProducts": {
            "returnFulfillment": {"id": ret["id"], "status": ret["status"]},
            "replaceOrder": {"id": draft["id"], "status": "DRAFT"} if draft else None,
            "order": {"id": order["id"], "status": order["status"]}, "errors": []}}
