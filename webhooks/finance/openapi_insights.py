"""``/api/insights/…`` in the OpenAPI document: each view's parameters, and its 200 as
``application/json`` (the document's top-level fields, which the views always send) or
``text/csv`` with ``format=csv`` (the columns listed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.finance import amounts
from refunds_plugin.insights import exports
from refunds_plugin.insights.reasons import DIMENSIONS, REASONS

PERIOD = ("since", "until")
_STR = {"type": "string"}
_ARRAY = {"type": "array", "items": {"type": "object"}}
_DRY = {"dry_run_share": {"type": "string", "enum": ["all", "some", "none"]},
        "dry_run_notice": {"type": ["string", "null"]},
        "test_mode_share": {"type": "string", "enum": ["all", "some", "none"]},
        "test_mode_notice": {"type": ["string", "null"]}}
_PERIOD_FIELDS = {"since": {**_STR, "format": "date-time"},
                  "until": {**_STR, "format": "date-time"}}
# name: (summary, parameters, CSV columns, the JSON document's fields)
INSIGHTS: dict[str, tuple[str, tuple[str, ...], list[str], dict[str, Any]]] = {
    "reasons": ("Why things come back: units sold and returned, return rate (basis points), "
                "reasons and money per SKU, product, collection or tag, with the period before, "
                "and customers' comments; rows[].money_returned leaves out what Stripe paid in "
                "its test mode (a test key: no real money moved), which is "
                "rows[].money_test_mode", (*PERIOD, "by", "reason", "q", "key"),
                exports.REASON_CSV,
                {"by": _STR, "reason": {"type": ["string", "null"]}, "before": {
                    "type": "object", "properties": _PERIOD_FIELDS}, "dry_run": {
                    "type": "boolean"}, **_DRY, "money_words": _STR, "rows": _ARRAY,
                 "comments": _ARRAY}),
    "costs": ("What returns cost per currency (refunded, credit, bonus, labels, fees, items "
              "kept, dry run, Stripe test mode, exchanges, money out) as a share of the "
              "period's order value by payment time, shares in basis points rounded half up; "
              "`sales` and `by_product[].sales` are that order value (the totals of the orders "
              "paid in the period), not the payments captured that /api/summary calls `sales`, and "
              "`share_of_sales_bp` is a share of it; dry_run: some money of the period went "
              "through the dry-run provider (no money moved); dry_run_share: all, some or none "
              "of it, by the period's decisions (not by the keys set now), and "
              "dry_run_notice the sentence the pages show above the figures; test_mode_share "
              "and test_mode_notice the same for Stripe's test mode (a test key: no real money "
              "moved: its money is the term test_mode, not in refunded, credited, bonus or money "
              "out, nor in by_product[].money_returned: by_product[].money_test_mode)",
              PERIOD, amounts.columns(exports.COST_COLUMNS, exports.COST_MONEY),
              {"sales": _ARRAY, "rows": _ARRAY, "by_product": _ARRAY,
               "dry_run": {"type": "boolean"}, **_DRY, "money_words": _STR,
               "exchanges": _ARRAY}),
    "retention": ("Who bought again within 30 / 90 / 180 days by how their return ended, and "
                  "customers with no return; every share with its n (an association, not a "
                  "proof)", PERIOD, exports.RETENTION_COLUMNS,
                  {"caveat": _STR, "dry_run": {"type": "boolean"}, **_DRY, "groups": _ARRAY}),
    "feedback": ("Customers' ratings (1-5) by outcome, reason, resolution, policy version and "
                 "time to money", PERIOD, exports.FEEDBACK_COLUMNS,
                 {"answers": {"type": "integer"}, "average_x100": {"type": ["integer", "null"]},
                  "ratings": {"type": "object", "additionalProperties": {"type": "integer"}},
                  "groups": _ARRAY, "comments": _ARRAY}),
}
_SIDE = {"type": "object", "required": ["policy", "decided", "without_person",
                                        "without_person_bp", "declines", "reviews", "money"],
         "properties": {"policy": _STR, "decided": {"type": "integer"},
                        "without_person": {"type": "integer"},
                        "without_person_bp": {"type": ["integer", "null"]},
                        "declines": {"type": "integer"}, "reviews": {"type": "integer"},
                        "money": _ARRAY}}
COMPARE_FIELDS = {"current": _SIDE, "candidate": _SIDE, "compared": {"type": "integer"},
                  "differ": {"type": "integer"}, "unreadable": {"type": "integer"},
                  "worse_count": {"type": "integer"}, "worse": _ARRAY}


def answered(description: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A 200 that is the JSON document (every field in ``fields`` and the period) or CSV."""
    props = {**_PERIOD_FIELDS, **fields}
    return {"description": description, "content": {
        "application/json": {"schema": {"type": "object", "required": sorted(props),
                                        "properties": props}},
        "text/csv": {"schema": {"type": "string"}}}}


def insights_paths(params: Callable[..., list[dict[str, Any]]], errors: dict[str, Any]
                   ) -> dict[str, Any]:
    """The paths; ``params`` and ``errors`` are the document's own (``openapi._params``)."""
    choices = {"by": DIMENSIONS, "reason": REASONS}
    paths: dict[str, Any] = {
        f"/api/insights/{name}": {"get": {
            "summary": summary, "parameters": params(names, paged=False, choices=choices),
            "responses": {"200": answered(f"the document; CSV columns: {', '.join(columns)}",
                                          fields), **errors}}}
        for name, (summary, names, columns, fields) in INSIGHTS.items()}
    compared = answered("both sides: decided without a person, declines, money out, worse "
                        "answers (the first 200); CSV: each decision answered differently, "
                        "columns decision_id, order_id, customer, decided_at, currency, "
                        "current_… and candidate_… outcome, refund, credit, bonus, fees, "
                        "worse, error, each amount's _decimal, then current_… and candidate_… "
                        "exchange, exchange_items, exchange_charge and its _decimal",
                        COMPARE_FIELDS)
    get_params = params((*PERIOD, "candidate"), paged=False)
    for p in get_params:
        if p["name"] == "candidate":  # without it the answer is a 400 naming it
            p["required"] = True
    paths["/api/insights/compare"] = {
        "get": {"summary": "The live policy and a preset side by side over the return "
                           "decisions of the period (read-only; without since, the 90 days "
                           "before until); CSV: each decision answered differently",
                "parameters": get_params,
                "responses": {"200": compared, **errors}},
        "post": {"summary": "The same with the candidate policy's YAML as the body",
                 "parameters": params(PERIOD, paged=False),
                 "requestBody": {"required": True, "content": {"application/yaml": {"schema": {
                     "type": "string"}}}},
                 "responses": {**errors, "200": compared,
                               "400": {**errors["400"], "description": (
                                   "a candidate with mistakes: the words of `refunds policy "
                                   "check`; or a filter that cannot be read")}}}}
    return paths
