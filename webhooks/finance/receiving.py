"""Receiving returns at the packing table: ``/finance/receive`` (a phone-sized page: find a
return by order number or tracking code, mark each line's condition and whether it goes back on
the shelf) and ``POST /api/returns/<decision_id>/receive`` (the same as JSON, with a bearer
token), ``GET /api/returns`` to list them. Role ``warehouse`` (admins too)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from refunds_plugin.errors import Conflict, InputError, NotFound
from refunds_plugin.intake.physical import Lines
from refunds_plugin.shipping import listing
from webhooks.finance import api
from webhooks.finance.pages import needs, page, refused
from webhooks.finance.session import runtime
from webhooks.schemas import json_body

bp = Blueprint("finance_receiving", __name__, url_prefix="/finance")
api_bp = Blueprint("returns_api", __name__, url_prefix="/api")

STATUS_WORDS = {"instructions": "waiting for the parcel", "label_pending": "label being bought",
                "label_created": "label ready, waiting for the parcel",
                "in_transit": "on its way", "out_for_delivery": "out for delivery",
                "available_for_pickup": "at the carrier's pick-up point",
                "delivered": "delivered", "failure": "carrier problem",
                "return_to_sender": "going back to the customer", "received": "received",
                "expired": "expired", "reopened": "arrived late: with a person"}
CONDITION_WORDS = {"as_new": "As new", "opened": "Opened", "damaged": "Damaged",
                   "wrong_item": "Wrong item", "missing": "Missing"}


def _lines(raw: Any) -> Lines:
    """``{"lines": [{"line_id", "condition", "quantity"?, "restock"?}]}`` → the service's."""
    if not isinstance(raw, list) or not raw:
        raise InputError("lines: expected a list of {line_id, condition, quantity, restock}",
                         code="invalid_payload")
    out: dict[str, tuple[str, int | None, bool]] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("line_id"), str):
            raise InputError(f"lines[{i}]: expected an object with a line_id",
                             code="invalid_payload")
        units = item.get("quantity")
        if units is not None and (isinstance(units, bool) or not isinstance(units, int)):
            raise InputError(f"lines[{i}].quantity: expected a whole number, found {units!r}",
                             code="invalid_payload")
        restock = item.get("restock", False)
        if not isinstance(restock, bool):
            raise InputError(f"lines[{i}].restock: expected true or false, found {restock!r}",
                             code="invalid_payload")
        if item["line_id"] in out:
            raise InputError(f"line {item['line_id']} is named twice", code="invalid_line")
        out[item["line_id"]] = (str(item.get("condition", "")), units, restock)
    return out


def _waiting(decision_id: str) -> dict[str, Any]:
    ret = listing.one(runtime().engine, decision_id)
    if ret is None:
        raise NotFound(f"no return is waiting for decision {decision_id}", code="unknown_return")
    return ret


@api_bp.get("/returns")
@api.needs("warehouse")
def list_returns() -> Response:
    """``?q=`` an order number, order id or tracking code; else ``?status=`` (or all)."""
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in listing.STATUSES:
        raise InputError(f"status: expected one of {', '.join(listing.STATUSES)}, found "
                         f"{status!r}", code="invalid_parameter")
    rows = listing.find(runtime().engine, q) if q else listing.listed(runtime().engine, status)
    return jsonify({"data": rows})


@api_bp.post("/returns/<decision_id>/receive")
@api.needs("warehouse")
def receive(decision_id: str) -> Response:
    _waiting(decision_id)  # a 404 before the body is read
    body = json_body()
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object with lines", code="malformed_json")
    receipt = runtime().service.receive(decision_id, _lines(body.get("lines")),
                                        f"token:{g.principal.token_id}:{g.principal.name}")
    return jsonify(receipt.to_json())


@bp.get("/receive")
@needs("warehouse")
def receive_page() -> Response:
    q = request.args.get("q", "").strip()
    found = listing.find(runtime().engine, q) if q else []
    no_address = listing.NO_ADDRESS if not runtime().config.return_addresses else None
    return page(200, "receive.html", q=q, found=found, conditions=CONDITION_WORDS,
                statuses=STATUS_WORDS, done=None, no_address=no_address)


@bp.post("/receive/<decision_id>")
@needs("warehouse")
def receive_form(decision_id: str) -> Response:
    ret = _waiting(decision_id)
    back = (url_for("finance_receiving.receive_page", q=ret["order_number"] or ret["order_id"]),
            "Back to this return")
    lines: dict[str, tuple[str, int | None, bool]] = {}
    for ln in ret["lines"]:
        lid = ln["line_id"]
        raw = request.form.get(f"quantity-{lid}", "").strip()
        if not raw.isdigit():
            return refused(400, f"{ln['name']}: the number of units must be a whole number.",
                           back)
        lines[lid] = (request.form.get(f"condition-{lid}", ""), int(raw),
                      request.form.get(f"restock-{lid}") == "yes")
    try:
        receipt = runtime().service.receive(
            decision_id, lines, f"token:{g.principal.token_id}:{g.principal.name}")
    except InputError as exc:  # Conflict: its stored record cannot be read, nothing recorded
        return refused(409 if isinstance(exc, Conflict) else 400, exc.message, back)
    found = listing.find(runtime().engine, ret["order_id"])
    return page(200, "receive.html", q=ret["order_number"] or ret["order_id"], found=found,
                conditions=CONDITION_WORDS, statuses=STATUS_WORDS, done=receipt)
