"""The warehouse's and the Saleor returns' part of the OpenAPI document for ``/api``: physical
returns (listed, received line by line) and a return Saleor was never told of, recorded by a
person in its dashboard."""

from __future__ import annotations

from typing import Any

from refunds_plugin.shipping.listing import STATUSES as RETURN_STATUSES
from refunds_plugin.shipping.receiving import CONDITIONS

MONEY = {"type": "integer", "description": "minor units of the currency"}
RETURN_SCHEMAS: dict[str, Any] = {
    "Return": {"type": "object", "properties": {
        "decision_id": {"type": "string"}, "order_id": {"type": "string"},
        "order_number": {"type": ["string", "null"]},
        "status": {"enum": list(RETURN_STATUSES)},
        "label_status": {"enum": ["none", "pending", "bought", "no_label",
                                  "failed", "void_pending", "voided",
                                  "void_refused"]},
        "tracking_code": {"type": ["string", "null"]},
        "label_cost": {**MONEY, "type": ["integer", "null"]},
        "label_currency": {"type": ["string", "null"]},
        "return_by": {"type": ["string", "null"], "format": "date-time"},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "line_id": {"type": "string"}, "name": {"type": "string"},
            "quantity": {"type": "integer"}, "reason": {"type": "string"}}}},
        "received": {"type": "array"},
        "return_instructions": {"type": ["object", "null"]},
        "unreadable": {"type": ["string", "null"], "description": "why the "
                       "return's stored row cannot be read (a person repairs "
                       "it); then only its ids, status, label status and "
                       "tracking code are given, the rest null or empty"}}},
    "Receipt": {"type": "object", "properties": {
        "decision_id": {"type": "string"}, "duplicate": {"type": "boolean"},
        "matched": {"type": "boolean"},
        "mismatches": {"type": "array", "items": {"type": "string"}},
        "released_attempts": {"type": "array", "items": {"type": "string"}},
        "lines": {"type": "array"},
        "restock": {"type": "array", "description": "what goes back on the shelf: "
                    "status done/pending/failed (Saleor), listed (the storefront's "
                    "to do)"}}},
    "SaleorReturnRecorded": {"type": "object", "properties": {
        "decision_id": {"type": "string"}, "order_id": {"type": "string"},
        "status": {"const": "recorded_by_hand"}, "recorded_by": {"type": "string"},
        "recorded_at": {"type": "string", "format": "date-time"},
        "follow_up_cleared": {"type": "boolean"}}},
}


def returns_paths(errors: dict[str, Any], shaped: dict[str, Any]) -> dict[str, Any]:
    """``/api/returns``, its receiving, and ``/api/saleor-returns/{decision_id}/recorded``."""
    return {
        "/api/returns": {"get": {
            "summary": "Physical returns (warehouse): ?q= an order number, order id or "
                       "tracking code, else ?status=",
            "parameters": [
                {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "status", "in": "query", "required": False,
                 "schema": {"enum": [*RETURN_STATUSES, ""]}}],
            "responses": {"200": {"description": "the returns", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "data": {"type": "array",
                             "items": {"$ref": "#/components/schemas/Return"}}}}}}},
                **errors}}},
        "/api/returns/{decision_id}/receive": {"post": {
            "summary": "Mark a return received, line by line (warehouse): a match releases "
                       "the money waiting for the inspection, a mismatch opens a review",
            "parameters": [{"name": "decision_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["lines"], "properties": {"lines": {
                    "type": "array", "minItems": 1, "description": "each line once",
                    "items": {"type": "object", "required": [
                        "line_id", "condition"], "properties": {
                        "line_id": {"type": "string"},
                        "condition": {"enum": list(CONDITIONS)},
                        "quantity": {"type": "integer", "minimum": 0, "description":
                                     "units received (default: all the return takes back)"},
                        "restock": {"type": "boolean"}}}}}}}}},
            "responses": {"200": {"description": "recorded (or recorded before: duplicate)",
                                  "content": {"application/json": {"schema": {
                                      "$ref": "#/components/schemas/Receipt"}}}},
                          **errors,
                          "400": {"description": "an unknown line or condition, a line "
                                                 "named twice, or more units than the "
                                                 "return takes back", **shaped},
                          "404": {"description": "no such return", **shaped},
                          "409": {"description": "received before with other lines",
                                  **shaped}}}},
        "/api/exchanges/{decision_id}/difference-refunded": {"post": {
            "summary": "Record that a person refunded at Stripe an exchange's paid price "
                       "difference no refund attempt could name (admin): its "
                       "exchange_difference_paid follow-up, which this clears; once, journalled "
                       "with who. Nothing is sent to Stripe",
            "parameters": [{"name": "decision_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "recorded as refunded by hand", "content": {
                              "application/json": {"schema": {"type": "object"}}}},
                          **errors,
                          "404": {"description": "the exchange has no paid difference to "
                                                 "refund by hand (unknown_follow_up)", **shaped},
                          "409": {"description": "recorded as refunded already "
                                                 "(already_cleared); nothing recorded",
                                  **shaped}}}},
        "/api/saleor-returns/{decision_id}/recorded": {"post": {
            "summary": "Record that a person entered in the Saleor dashboard a return Saleor "
                       "was never told of (admin): its saleor_return_failed follow-up, which "
                       "this clears; once. Nothing is sent to Saleor",
            "parameters": [{"name": "decision_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "recorded by hand", "content": {
                              "application/json": {"schema": {
                                  "$ref": "#/components/schemas/SaleorReturnRecorded"}}}},
                          **errors,
                          "404": {"description": "the decision has no return Saleor was to be "
                                                 "told of (unknown_saleor_return)", **shaped},
                          "409": {"description": "its return is not failed: still being told, "
                                                 "or recorded already (not_failed); nothing "
                                                 "recorded", **shaped}}}},
    }
