"""The OpenAPI 3.1 document for ``/api``: built from the filter lists the code itself uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refunds_plugin.exchanges.by_hand import CONTROL, MAX_CARRIER, MAX_TRACKING
from refunds_plugin.finance.outbox import FILTERS as OUTBOX_FILTERS
from refunds_plugin.finance.reports import ATTEMPT_FILTERS, DECISION_FILTERS
from refunds_plugin.finance.rows import ATTEMPT_CHOICES, DECISION_CHOICES, EXPORT_COLUMNS
from refunds_plugin.finance.withdrawals import STATUSES as WITHDRAWAL_STATUSES
from refunds_plugin.notify.kinds import KINDS
from refunds_plugin.notify.outbox import STATUSES as OUTBOX_STATUSES
from refunds_plugin.trouble.follow_ups import KINDS as FOLLOW_UP_KINDS
from webhooks.finance.openapi_insights import insights_paths
from webhooks.finance.openapi_returns import RETURN_SCHEMAS, returns_paths

# no control character or line separator: what the service refuses in a carrier or tracking number
PRINTABLE = f"^[^{CONTROL}]*$"

FILTER_HELP = {
    "since": "ISO date or datetime, inclusive",
    "until": "ISO date or datetime, exclusive",
    "outcome": "approve | review | decline",
    "resolution": "refund | credit | credit+refund | none",
    "status": "money status of an attempt (pending, sent, succeeded, failed, …); none = no money",
    "customer": "customer email (case-insensitive) or customer id",
    "order": "order id",
    "rule": "reason code, or a rule name or code in the decision's trace",
    "kind": "refund | credit",
    "provider": "stripe | saleor | dryrun",
    "due": "true: only open follow-ups past the policy's follow_up_after_hours",
    "cause": "what caused a message, or its start: decision:<id>, attempt:<id>, review:<id>, "
             "exchange:<id>",
    "exchange": "yes: exchanges only (sales kept); no: decisions without an exchange",
    "by": "what to group by: sku | product | collection | tag",
    "reason": "only what came back for this return reason, most first",
    "q": "customers' comments containing this text (any case)",
    "key": "comments for this SKU, product, collection or tag only",
    "candidate": "a preset's name (GET); or POST the candidate policy's YAML as the body",
}

NOTES = {"note": {"type": "string", "pattern": "\\S", "description": "why (required, not blank)"},
         "customer_note": {"type": "string"}}
# an approval may change what is paid; a decline carries only its notes (a change is a 400)
REVIEW_APPROVE = {
    "type": "object", "required": ["action", "note"], "additionalProperties": False,
    "properties": {"action": {"const": "approve"}, **NOTES,
                   "amount": {"type": "integer", "minimum": 1,
                              "description": "pay this instead (minor units)"},
                   "waive_fees": {"type": "boolean"},
                   "resolution": {"const": "credit", "description": "store credit instead"}}}
REVIEW_DECLINE = {"type": "object", "required": ["action", "note"], "additionalProperties": False,
                  "properties": {"action": {"const": "decline"}, **NOTES}}


# since / until: a date or a date-time; anything else is a 400 (invalid_parameter)
WHEN = {"anyOf": [{"type": "string", "format": "date"},
                  {"type": "string", "format": "date-time"},
                  {"type": "string", "maxLength": 0, "description": "empty: no bound"}]}


def _params(names: tuple[str, ...], paged: bool = True,
            choices: Mapping[str, tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    """Query parameters; an enumerated one lists its values (others are a 400), and empty
    (as every filter) means no filter; ``format`` empty is JSON."""
    choices = choices or {}
    out: list[dict[str, Any]] = [
        {"name": n, "in": "query", "required": False,
         "schema": WHEN if n in ("since", "until") else
         {"type": "string", **({"enum": [*choices[n], ""]} if n in choices else {})},
         "description": FILTER_HELP.get(n, n)}
        for n in names
    ]
    if paged:
        out += [
            {"name": "page", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 10**9}},
            {"name": "per_page", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
        ]
    out.append({"name": "format", "in": "query", "schema": {"enum": ["json", "csv", ""]}})
    return out


def _listing(item: str, whole: bool = False) -> dict[str, Any]:
    """``whole``: its CSV without ``page`` or ``per_page`` is every matching row."""
    said = ("one page; X-Has-Next says whether another follows. CSV adds each amount in "
            "major units after the other columns (<column>_decimal: 20.05, 20.005, 12000)")
    if whole:
        said += ("; CSV without page or per_page is every matching row, streamed "
                 "(X-Has-Next: false)")
    return {
        "description": said,
        "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                "page": {"type": "integer"}, "per_page": {"type": "integer"},
                "has_next": {"type": "boolean"}}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }


ERRORS = {
    "400": {"description": "a filter that cannot be read, or a query parameter this operation "
                           "does not list (invalid_parameter names it)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "401": {"description": "no or invalid bearer token (on a GET: nor a finance log-in)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "403": {"description": "the token's role may not do this",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


SHAPED = {"content": ERRORS["400"]["content"]}  # a refusal of its own, in the error shape


def document() -> dict[str, Any]:
    money = {"type": "integer", "description": "minor units of the currency"}
    decision_props: dict[str, Any] = {c: {"type": "string"} for c in EXPORT_COLUMNS}
    decision_props.update(amount=money, refund_amount=money, credit_amount=money,
                          credit_bonus=money)
    given = ("0 for a review declined (also one re-opened after the policy approved) or "
             "still open: the column to sum; money that moved is in money_status")
    decision_props["granted_refund_amount"] = {
        **money, "description": f"minor units: the refund given, refund_amount of a return "
                                f"granted (by the policy, or approved by a person); {given}"}
    decision_props["granted_credit_amount"] = {
        **money, "description": f"minor units: the store credit given, bonus included, "
                                f"credit_amount of a granted return; {given}"}
    decision_props["money_status"] = {"enum": [
        "none", "pending", "held", "in_progress", "sent", "unknown", "succeeded", "dry_run",
        "test_mode", "failed", "canceled", "mixed"], "description": (
            "dry_run: the dry-run provider, no money moved; test_mode: Stripe's test mode (a "
            "test key), no real money moved; held: waiting for the parcel")}
    decision_props["review_status"] = {"enum": ["", "open", "approved", "declined"],
                                       "description": "the review's result; outcome stays "
                                                      "what the policy said"}
    decision_props["review_decided_at"] = {"type": ["string", "null"], "format": "date-time"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "refunds-plugin finance API", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "`refunds tokens create`; a GET "
                                                          "also takes the /finance log-in "
                                                          "session (its cookie)"}},
            "schemas": {
                "Decision": {"type": "object", "properties": decision_props},
                "Attempt": {"type": "object", "properties": {
                    **{c: {"type": "string"} for c in (
                        "id", "decision_id", "kind", "status", "currency", "provider",
                        "provider_reference")}, "amount": money, "bonus": money,
                    "livemode": {"type": ["boolean", "null"], "description": (
                        "false: Stripe's test mode (status test_mode once done), no real money "
                        "moved; null: not known (written before revision 0025)")},
                    "gives_back": {"enum": ["sale", "original_due", "difference", "label_fee"],
                                   "description": (
                        "which money the attempt gives back: the sale's (the decision's "
                        "resolutions), a payment made for an exchange (its original not "
                        "returned, its price difference: no refund of the sale), or a return "
                        "label fee deducted for a label never bought")}}},
                "FollowUp": {"type": "object", "properties": {
                    "kind": {"enum": list(FOLLOW_UP_KINDS), "description": (
                        "saleor_return_failed: Saleor was never told of an approved return; "
                        "record it in the Saleor dashboard, then POST /api/saleor-returns/"
                        "{decision_id}/recorded")},
                    "order_id": {"type": "string"},
                    "decision_id": {"type": ["string", "null"], "description": (
                        "the return (or exchange) it is about; null for a payment")},
                    "customer": {"type": "string", "description": "email, else customer id"},
                    "amount": money, "currency": {"type": "string"},
                    "amount_text": {"type": "string"}, "what_failed": {"type": "string"},
                    "payment_reference": {"type": "string"},
                    "status": {"enum": ["open", "cleared"]},
                    "opened_at": {"type": "string", "format": "date-time"},
                    "due_at": {"type": "string", "format": "date-time"},
                    "cleared_at": {"type": ["string", "null"], "format": "date-time"},
                    "age_seconds": {"type": "integer"}}},
                **RETURN_SCHEMAS,
                "OutboxMessage": {"type": "object", "properties": {
                    "id": {"type": "string", "description":
                           "stable: the email's Message-ID and the event's webhook-id"},
                    "cause": {"type": "string"}, "kind": {"enum": list(KINDS)},
                    "channel": {"enum": ["mail", "event"]},
                    "recipient": {"type": "string", "description":
                                  "the customer's email; merchant for events"},
                    "status": {"enum": list(OUTBOX_STATUSES)}, "tries": {"type": "integer"},
                    "next_try_at": {"type": "string", "format": "date-time"},
                    "last_error": {"type": ["string", "null"]},
                    "note": {"type": ["string", "null"], "description":
                             "why it was skipped, or who asked for a resend"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "sent_at": {"type": ["string", "null"], "format": "date-time"}}},
                "Withdrawal": {"type": "object", "properties": {
                    "withdrawal_id": {"type": "string"}, "order_id": {"type": "string"},
                    "name": {"type": "string"}, "email": {"type": "string"},
                    "lines": {"type": "array", "items": {"type": "object", "properties": {
                        "line_id": {"type": "string"}, "name": {"type": "string"},
                        "quantity": {"type": "integer"}}}},
                    "received_at": {"type": "string", "format": "date-time",
                                    "description": "the time of receipt, to the second"},
                    "legal_deadline": {"type": "string", "format": "date-time",
                                       "description": "received_at + 14 days (Article 13)"},
                    "in_period": {"type": "boolean", "description":
                                  "false: received after the withdrawal period (for review)"},
                    "decision_id": {"type": ["string", "null"],
                                    "description": "the return it became"},
                    "status": {"enum": list(WITHDRAWAL_STATUSES), "description":
                               "waiting: held for the parcel's first scan; expired: the "
                               "goods never came back, the held refund was canceled"},
                    "currency": {"type": ["string", "null"]}, "amount": money,
                    "refunded": money,
                    "refunded_at": {"type": ["string", "null"], "format": "date-time"},
                    "met": {"type": ["boolean", "null"],
                            "description": "refunded by the legal deadline (null: not yet)"},
                    "overdue": {"type": "boolean"}}},
                "ExchangeShipped": {"type": "object", "properties": {
                    "decision_id": {"type": "string"}, "order_id": {"type": "string"},
                    "status": {"const": "shipped"}, "shipped_by": {"type": "string"},
                    "carrier": {"type": ["string", "null"]},
                    "tracking_number": {"type": ["string", "null"]},
                    "shipped_at": {"type": "string", "format": "date-time"},
                    "follow_up_cleared": {"type": "boolean"}}},
                "Error": {"type": "object", "properties": {"error": {"type": "object",
                          "properties": {"code": {"type": "string"},
                                         "message": {"type": "string"}}}}},
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/decisions": {"get": {
                "summary": "Decisions, newest first",
                "description": "`outcome` is what the policy said; `resolution`, `amount`, "
                               "`refund_amount` and `credit_amount` what was decided (a "
                               "person's change on approval included), also for a review "
                               "declined or still open; `granted_refund_amount` and "
                               "`granted_credit_amount` are the money given, 0 for those: "
                               "sum these.",
                "parameters": _params(DECISION_FILTERS, choices=DECISION_CHOICES),
                "responses": {"200": _listing("Decision", whole=True), **ERRORS}}},
            "/api/attempts": {"get": {
                "summary": "Money movements (refund and credit attempts), newest first",
                "parameters": _params(ATTEMPT_FILTERS, choices=ATTEMPT_CHOICES),
                "responses": {"200": _listing("Attempt", whole=True), **ERRORS}}},
            "/api/summary": {"get": {
                "summary": "Totals and per-day series: sales, refunded, credited, kept, "
                           "reviews waiting and decided by a person (final amounts), "
                           "refund rate (basis points), promise keeping",
                "description": "`sales`: payments captured (money taken, by the day the order was "
                               "paid), not order totals (/api/insights/costs compares with order "
                               "value, also `sales`). Stripe's test mode is apart (no real money): "
                               "its payments in `test_mode_sales`, its refunds and credit in "
                               "`test_mode`, the exchange differences and originals paid through "
                               "its Checkout Sessions in `test_mode_exchange_paid`. "
                               "`refund_rate_bp`: refunded as a share of `sales`.",
                "parameters": _params(("since", "until"), paged=False),
                "responses": {"200": {"description": "the summary (CSV: one row per day and "
                                                     "currency, each amount also in major "
                                                     "units as <column>_decimal)"},
                              **ERRORS, "400": {**ERRORS["400"], "description": (
                                  "a filter that cannot be read, a query parameter this "
                                  "operation does not list, or a period that does not end "
                                  "after it starts (invalid_parameter names it)")}}}},
            "/api/withdrawals": {"get": {
                "summary": "EU withdrawals (Article 11a) received in the period, the nearest "
                           "legal deadline first, each with where its money stands",
                "parameters": _params(("since", "until"), paged=False),
                "responses": {"200": {"description": "the withdrawals (CSV: the amounts "
                                                     "also in major units after the other "
                                                     "columns, amount_decimal and "
                                                     "refunded_decimal)", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "data": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/Withdrawal"}}}}},
                    "text/csv": {"schema": {"type": "string"}}}},
                    **ERRORS}}},
            "/api/follow-ups": {"get": {
                "summary": "What a person should chase, oldest first: failed payments "
                           "nothing has paid since, refused labels, exchanges' originals owed "
                           "or new items nobody was told to ship, payments another order "
                           "holds, returns Saleor was never told of",
                "parameters": [
                    {"name": "status", "in": "query", "required": False,
                     "schema": {"enum": ["open", "cleared", "all", ""], "default": "open"}},
                    *_params(("due",), choices={"due": ("true", "false", "1", "0")}),
                ],
                "responses": {"200": _listing("FollowUp"), **ERRORS,
                              "400": {"description": "status is not open, cleared or all, or "
                                                     "due is not true or false "
                                                     "(invalid_parameter)"}}}},
            "/api/outbox": {"get": {
                "summary": "Customer emails and merchant events, newest first: queued, "
                           "sending, sent, failed (gave up) or skipped (with why)",
                "parameters": _params(OUTBOX_FILTERS, choices={
                    "status": OUTBOX_STATUSES, "kind": tuple(KINDS)}),
                "responses": {"200": _listing("OutboxMessage"), **ERRORS}}},
            "/api/outbox/{message_id}/resend": {"post": {
                "summary": "Send a failed message again, under the same id (admin)",
                "parameters": [{"name": "message_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "queued again"},
                              "404": {"description": "no message can have that id (a control "
                                      "character in it)", **SHAPED},
                              "409": {"description": "the message is not failed"},
                              **ERRORS}}},
            "/api/exchanges/{decision_id}/shipped": {"post": {
                "summary": "Record that a person sent an exchange's new items (admin): the "
                           "exchange nobody was told to ship (its exchange_unshipped follow-up, "
                           "which this clears); once",
                "parameters": [{"name": "decision_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "properties": {
                        "carrier": {"type": "string", "maxLength": MAX_CARRIER,
                                    "pattern": PRINTABLE},
                        "tracking_number": {"type": "string", "maxLength": MAX_TRACKING,
                                            "pattern": PRINTABLE}}}}}},
                "responses": {"200": {"description": "recorded as shipped", "content": {
                                  "application/json": {"schema": {
                                      "$ref": "#/components/schemas/ExchangeShipped"}}}},
                              **ERRORS,
                              "400": {"description": "a carrier or tracking number too long "
                                                     "(tracking_number_too_long), not text, or "
                                                     "with a control character",
                                      **SHAPED},
                              "404": {"description": "no such exchange (unknown_exchange)",
                                      **SHAPED},
                              "409": {"description": "shipped before (already_shipped), or not "
                                                     "one a person ships (not_shippable): "
                                                     "nothing recorded", **SHAPED}}}},
            "/api/reviews/{decision_id}": {"post": {
                "summary": "Approve or decline a review (admin)",
                "parameters": [{"name": "decision_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [REVIEW_APPROVE, REVIEW_DECLINE]}}}},
                "responses": {"200": {"description": "decided"},
                              "400": {"description": "more than the order still has to give "
                                                     "back, an amount off the provider's step "
                                                     "(amount_off_step), a refund to a payment "
                                                     "in another currency (currency_mismatch), "
                                                     "or a change on a decline"},
                              "409": {"description": "already decided"}, **ERRORS,
                              "404": {"description": "no decision with that id",
                                      "content": ERRORS["400"]["content"]}}}},
            **returns_paths(ERRORS, SHAPED),
            **insights_paths(_params, ERRORS),
        },
    }
