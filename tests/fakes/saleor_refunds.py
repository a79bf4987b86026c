"""Money in the fake Saleor: granted refunds (``orderGrantRefundCreate``, lines held by every
earlier grant, a failed one included: QUANTITY_GREATER_THAN_AVAILABLE), their requests
(REFUND_IS_PENDING, REFUND_ALREADY_PROCESSED, AMOUNT_GREATER_THAN_AVAILABLE,
MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK), a refund asked of a transaction directly, and gift
cards. The payment app's answers and Saleor's bookkeeping of them are ``PaymentApp``'s."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.fakes.saleor_orders import money
from tests.fakes.saleor_payment_app import PaymentApp


class Refunds(PaymentApp):
    """Mixed into ``FakeSaleor``: the refund and gift-card operations."""

    currency: str
    gift_cards: list[dict[str, Any]]

    def _op_RefundsGrantRefund(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.orders[v["id"]]
        inp = v["input"]
        # Saleor counts the lines of every granted refund of the order, failed ones included
        held: dict[str, int] = {}
        for earlier in order["grantedRefunds"]:
            for gl in earlier["lines"]:
                held[gl["orderLine"]["id"]] = held.get(gl["orderLine"]["id"], 0) + gl["quantity"]
        quantities = {ln["id"]: ln["quantity"] for ln in order["lines"]}
        over = [ln for ln in inp.get("lines") or []
                if held.get(ln["id"], 0) + ln["quantity"] > quantities.get(ln["id"], 0)]
        if over:
            return {"orderGrantRefundCreate": {"grantedRefund": None, "errors": [{
                "field": "lines", "code": "INVALID",
                "message": "Provided input for lines is invalid.",
                "lines": [{"lineId": ln["id"], "field": "quantity",
                           "code": "QUANTITY_GREATER_THAN_AVAILABLE",
                           "message": "Provided quantity is bigger than quantity from order "
                                      "line or quantity already granted."} for ln in over]}]}}
        grant = {"id": self._id("T3JkZXJHcmFudGVkUmVmdW5k"), "status": "NONE",
                 "reason": inp["reason"], "createdAt": order["updatedAt"],
                 "updatedAt": order["updatedAt"], "amount": money(inp["amount"], self.currency),
                 "transaction": {"id": inp["transactionId"]}, "transactionEvents": [],
                 "lines": [{"id": self._id("GL"), "quantity": ln["quantity"],
                            "orderLine": {"id": ln["id"]}} for ln in inp.get("lines") or []]}
        order["grantedRefunds"].append(grant)
        order["totalGrantedRefund"]["amount"] += grant["amount"]["amount"]
        self._touch(order)
        return {"orderGrantRefundCreate": {"grantedRefund": {
            "id": grant["id"], "status": "NONE", "reason": grant["reason"],
            "amount": grant["amount"]}, "errors": []}}

    def _op_RefundsRequestGrantedRefund(self, v: dict[str, Any]) -> dict[str, Any]:
        field = "transactionRequestRefundForGrantedRefund"
        for order in self.orders.values():
            for grant in order["grantedRefunds"]:
                if grant["id"] != v["grantedRefundId"]:
                    continue
                tx = self._tx(order, grant["transaction"]["id"])
                if grant["status"] == "PENDING":
                    return {field: self._error("REFUND_IS_PENDING")}
                if grant["status"] == "SUCCESS":
                    return {field: self._error("REFUND_ALREADY_PROCESSED")}
                if not self.owned(tx):
                    return {field: self._error("MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK")}
                # pending requests are already out of chargedAmount
                if grant["amount"]["amount"] > tx["chargedAmount"]["amount"]:
                    return {field: self._error("AMOUNT_GREATER_THAN_AVAILABLE")}
                grant["status"] = "PENDING"  # a FAILURE grant may be requested again
                self._pend(order, tx, grant["amount"]["amount"])
                asked = self._event(tx, "REFUND_REQUEST", grant["amount"])
                grant["transactionEvents"] = [*grant.get("transactionEvents", []), {"id": asked}]
                self._touch(order)
                self._requested(order, grant)
                return {field: {"transaction": {
                    "id": tx["id"], "refundPendingAmount": tx["refundPendingAmount"],
                    "refundedAmount": tx["refundedAmount"],
                    "order": {"grantedRefunds": [{"id": g["id"], "status": g["status"]}
                                                 for g in order["grantedRefunds"]]}},
                    "errors": []}}
        return {field: self._error("NOT_FOUND")}

    def _op_RefundsTransactionRefund(self, v: dict[str, Any]) -> dict[str, Any]:
        field = "transactionRequestAction"
        for order in self.orders.values():
            for tx in order["transactions"]:
                if tx["id"] != v["id"]:
                    continue
                if "REFUND" not in tx["actions"]:
                    return {field: self._error("INVALID")}
                if not self.owned(tx):
                    return {field: self._error("MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK")}
                # Saleor clamps the amount to what the transaction has charged
                amount = min(Decimal(v["amount"]), tx["chargedAmount"]["amount"])
                self._pend(order, tx, amount)
                tx["events"].append({
                    "id": self._id("ev"), "type": "REFUND_REQUEST",
                    "createdAt": f"2026-11-24T12:30:{self._n:02d}+00:00", "pspReference": "",
                    "amount": money(str(amount), self.currency)})
                self._touch(order)
                return {field: {"transaction": {
                    k: tx[k] for k in ("id", "refundPendingAmount", "refundedAmount", "events")},
                    "errors": []}}
        return {field: self._error("NOT_FOUND")}

    def _error(self, code: str) -> dict[str, Any]:
        return {"transaction": None, "errors": [{"field": None, "code": code,
                                                 "message": code.replace("_", " ").lower()}]}

    def _op_RefundsGiftCardCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        inp = v["input"]
        card = {"id": self._id("R2lmdENhcmQ"), "code": f"GIFT-{self._n:04d}",
                "last4CodeChars": f"{self._n:04d}", "input": inp,
                "initialBalance": money(inp["balance"]["amount"], inp["balance"]["currency"])}
        self.gift_cards.append(card)
        node = {k: card[k] for k in ("id", "code", "last4CodeChars", "initialBalance")}
        return {"giftCardCreate": {"giftCard": node, "errors": []}}

    def _op_RefundsGiftCardsByTag(self, v: dict[str, Any]) -> dict[str, Any]:
        found = [c for c in self.gift_cards if v["tag"] in c["input"].get("addTags", [])]
        return {"giftCards": {"edges": [
            {"node": {k: c[k] for k in ("id", "code", "last4CodeChars", "initialBalance")}}
            for c in found]}}
