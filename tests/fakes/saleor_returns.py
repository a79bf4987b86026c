"""What the fake Saleor's ``orderFulfillmentReturnProducts`` refuses before it moves a unit:
Saleor's ``FulfillmentReturnProducts.clean_input`` (``saleor/graphql/order/mutations/
fulfillment_return_products.py``, its checks in ``fulfillment_refund_and_return_product_base.py``)
as the ``OrderError`` it answers."""

from __future__ import annotations

from typing import Any

SHIPPED = ("FULFILLED", "WAITING_FOR_APPROVAL")  # deleted by a return that empties them
RETURNABLE = ("FULFILLED", "REFUNDED", "WAITING_FOR_APPROVAL")  # Saleor's whitelisted statuses


def refused_return(order: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any] | None:
    """The first error of Saleor's ``FulfillmentReturnProducts.clean_input`` (it raises at
    the first: order lines, then fulfillment lines), as the ``OrderError`` it answers; None
    when the input is clean. One check is the fake's own: a quantity below 1. Saleor does not
    check it (it records a 0-unit line), and nothing we send should ever hold one."""
    def error(field: str, code: str, message: str) -> dict[str, Any]:
        return {"field": field, "code": code, "message": message}

    by_line = {ln["id"]: ln for ln in order["lines"]}
    by_fl = {fl["id"]: (ful, fl) for ful in order["fulfillments"] for fl in ful["lines"]}
    for field, key, known in (("orderLines", "orderLineId", by_line),
                              ("fulfillmentLines", "fulfillmentLineId", by_fl)):
        ids = [ln[key] for ln in inp.get(field) or []]
        if any(i not in known for i in ids):  # deleted once emptied, or never there
            return error(field, "GRAPHQL_ERROR", "Could not resolve to a node with the "
                         f"global id list of '{ids}'.")
    for ol in inp.get("orderLines") or []:
        line, quantity = by_line[ol["orderLineId"]], ol["quantity"]
        if quantity < 1:
            return error("orderLineId", "INVALID_QUANTITY",
                         "The fake refuses a quantity below 1 (Saleor records it).")
        if quantity > line["quantity"]:
            return error("orderLineId", "INVALID_QUANTITY",
                         "Provided quantity is bigger than quantity from order line.")
        if quantity > line["quantity"] - line["quantityFulfilled"]:
            return error("orderLineId", "INVALID_QUANTITY",
                         "Provided quantity is bigger than unfulfilled quantity.")
    for fl_in in inp.get("fulfillmentLines") or []:
        ful, fl = by_fl[fl_in["fulfillmentLineId"]]
        if fl_in["quantity"] < 1:
            return error("fulfillmentLineId", "INVALID_QUANTITY",
                         "The fake refuses a quantity below 1 (Saleor records it).")
        if fl_in["quantity"] > fl["quantity"]:
            return error("fulfillmentLineId", "INVALID_QUANTITY",
                         "Provided quantity is bigger than quantity from fulfillment line")
        if ful["status"] not in RETURNABLE:
            return error("fulfillmentLineId", "INVALID",
                         "Unable to process action for fulfillmentLine with different "
                         "status than fulfilled, refunded, waiting_for_approval.")
    return None
