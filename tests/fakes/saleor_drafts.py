"""Exchanges in the fake Saleor: the replacement draft order a return with ``replace: true``
lines makes (``drafts``, named by an ``ORDER_REPLACEMENT_CREATED`` event on the original), its
lines added and deleted only while it is a draft, ``draftOrderComplete`` refusing a non-draft
and a variant short of ``stock`` (INSUFFICIENT_STOCK) and taking the stock; and the products
(``products``) whose variants answer with ``quantityAvailable``. Mixed into ``FakeSaleor``."""

from __future__ import annotations

from typing import Any


class Drafts:
    """Mixed into ``FakeSaleor``: the replacement drafts' and the products' operations."""

    orders: dict[str, dict[str, Any]]
    drafts: dict[str, dict[str, Any]]  # replacement orders, by id
    stock: dict[str, int]  # variant id → units available to sell
    products: dict[str, dict[str, Any]]  # product id → {id, name, variants}

    def _id(self, prefix: str) -> str:
        raise NotImplementedError

    def _op_RefundsReplacementOf(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(v["id"])
        return {"order": None if order is None else {
            "id": order["id"], "events": order.get("events", [])}}

    def _op_RefundsDraft(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"order": self.drafts.get(v["id"])}

    def _draft_error(self, field: str, code: str) -> dict[str, Any]:
        return {field: {"order": None, "errors": [
            {"field": None, "code": code, "message": code.replace("_", " ").lower()}]}}

    def _op_RefundsDraftLinesCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        draft = self.drafts[v["id"]]
        if draft["status"] != "DRAFT":
            return self._draft_error("orderLinesCreate", "NOT_EDITABLE")
        for item in v["input"]:
            draft["lines"].append({"id": self._id("T3JkZXJMaW5l"), "quantity": item["quantity"],
                                   "variant": {"id": item["variantId"]}})
        return {"orderLinesCreate": {"order": draft, "errors": []}}

    def _op_RefundsDraftLineDelete(self, v: dict[str, Any]) -> dict[str, Any]:
        for draft in self.drafts.values():
            if any(ln["id"] == v["id"] for ln in draft["lines"]):
                if draft["status"] != "DRAFT":
                    return self._draft_error("orderLineDelete", "NOT_EDITABLE")
                draft["lines"] = [ln for ln in draft["lines"] if ln["id"] != v["id"]]
                return {"orderLineDelete": {"order": {"id": draft["id"]}, "errors": []}}
        return self._draft_error("orderLineDelete", "NOT_FOUND")

    def _op_RefundsDraftComplete(self, v: dict[str, Any]) -> dict[str, Any]:
        draft = self.drafts[v["id"]]
        if draft["status"] != "DRAFT":
            return self._draft_error("draftOrderComplete", "INVALID")
        for ln in draft["lines"]:
            vid = ln["variant"]["id"]
            if self.stock.get(vid, 0) < ln["quantity"]:
                return self._draft_error("draftOrderComplete", "INSUFFICIENT_STOCK")
        for ln in draft["lines"]:
            self.stock[ln["variant"]["id"]] -= ln["quantity"]
        draft.update(status="UNFULFILLED", number=str(2000 + len(self.drafts)))
        return {"draftOrderComplete": {"order": {
            "id": draft["id"], "status": draft["status"], "number": draft["number"]},
            "errors": []}}

    def _op_RefundsProductVariants(self, v: dict[str, Any]) -> dict[str, Any]:
        product = self.products.get(v["id"])
        if product is None:
            return {"product": None}
        return {"product": {"id": product["id"], "name": product["name"], "variants": [
            {**var, "quantityAvailable": self.stock.get(var["id"], 0)}
            for var in product["variants"]]}}
