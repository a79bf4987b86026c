"""``/api``: decisions, attempts, the summary, follow-ups, the outbox and EU
withdrawals (with their legal deadlines) as JSON
or CSV (``?format=csv``), paginated and filtered like the finance pages, with bearer-token auth
(and, on a GET, the finance pages' logged-in session, so the pages' "Download CSV" links work);
``/api/openapi.json`` describes it, and a query parameter it does not list is a 400. The CSV of
decisions or attempts asked for without ``page`` or ``per_page`` is every matching row,
streamed from the database in batches; the CSVs add each money column in major units.
Admins may also decide reviews here (``POST /api/reviews/<decision_id>``), optionally with an
``amount`` (minor units), ``waive_fees: true`` or ``resolution: "credit"``, send a failed
message again (``POST /api/outbox/<id>/resend``), record an exchange nobody was told to ship
as sent (``POST /api/exchanges/<decision_id>/shipped``), and a return Saleor was never told of
as recorded in its dashboard (``POST /api/saleor-returns/<decision_id>/recorded``)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from refunds_plugin.errors import InputError, ReviewClosed
from refunds_plugin.exchanges import by_hand
from refunds_plugin.finance import amounts, reports, spreadsheet
from refunds_plugin.finance import outbox as outbox_read
from refunds_plugin.finance.rows import CSV_COLUMNS, DECISION_MONEY, EXPORT_COLUMNS, plain
from refunds_plugin.finance.summary import summarize
from refunds_plugin.finance.tokens import Principal
from refunds_plugin.finance.withdrawals import COLUMNS as WITHDRAWAL_COLUMNS
from refunds_plugin.finance.withdrawals import MONEY as WITHDRAWAL_MONEY
from refunds_plugin.finance.withdrawals import find_withdrawals
from refunds_plugin.insights.period import period_params
from refunds_plugin.intake import reviews
from refunds_plugin.intake import saleor_returns as saleor_by_hand
from refunds_plugin.notify.outbox import resend_message
from refunds_plugin.trouble.follow_ups import find_page as find_follow_ups
from webhooks.errors import error_response
from webhooks.finance.openapi import document
from webhooks.finance.session import Gate, bearer_principal, now, runtime, session_principal
from webhooks.schemas import json_body

bp = Blueprint("finance_api", __name__, url_prefix="/api")


def _asking() -> Principal | None:
    """The bearer token's holder; on a read, else the logged-in session's (a browser's
    download). Never the session on a write: POSTs under /api are not CSRF-checked
    (``webhooks.security``), and the session cookie (SameSite=Lax) still rides a cross-site
    top-level navigation, which may only ever fetch a file to the person's own browser."""
    who = bearer_principal()
    if who is None and request.method in ("GET", "HEAD"):
        who = session_principal()
    return who


def _unauthorized() -> Response:
    resp = error_response(401, "unauthorized",
                          "a valid bearer token (or, to read, a finance log-in) is required")
    resp.headers["WWW-Authenticate"] = 'Bearer realm="refunds"'
    return resp


def _forbidden(role: str, who: Principal) -> Response:
    roles = role if role == "admin" else f"{role} or admin"  # an admin token may do anything
    return error_response(403, "forbidden", f"this needs the {roles} role")


@cache
def _documented() -> dict[tuple[str, str], frozenset[str]]:
    """Each operation's query parameters, as ``/api/openapi.json`` lists them."""
    return {(path, method.upper()): frozenset(p["name"] for p in op.get("parameters", ())
                                              if p["in"] == "query")
            for path, ops in document()["paths"].items() for method, op in ops.items()}


def parameters(path: str) -> frozenset[str]:
    """The query parameters ``GET path`` takes, as ``/api/openapi.json`` lists them (what a
    page's "Download CSV" link may carry over)."""
    return _documented().get((path, "GET"), frozenset())


def _unknown_parameter() -> Response | None:
    """A query parameter the document does not list is a 400 naming it: a mistyped filter
    (``?stauts=failed``) must not answer everything as if nothing had been asked."""
    rule = request.url_rule.rule if request.url_rule else ""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    method = "GET" if request.method == "HEAD" else request.method
    known = _documented().get((path, method))
    extra = sorted(set(request.args) - known) if known is not None else []
    if extra:
        return error_response(400, "invalid_parameter",
                              f"{extra[0][:40]!r} is not a parameter of {method} {path} "
                              f"(see /api/openapi.json)")
    return None


needs = Gate(identify=_asking, unauthorized=_unauthorized, forbidden=_forbidden,
             check=_unknown_parameter).needs


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Times as ISO 8601 with their UTC offset (Flask's default JSON writes an HTTP date)."""
    return [plain(r) for r in rows]


def csv_response(rows: list[dict[str, Any]], columns: list[str], name: str) -> Response:
    out = io.StringIO()
    writer = spreadsheet.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    resp = Response(out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return resp


CHUNK = 64 * 1024  # characters of CSV sent at a time while streaming


def csv_stream(rows: Iterable[dict[str, Any]], columns: list[str], name: str) -> Response:
    """A CSV written as ``rows`` are read, sent about ``CHUNK`` at a time: memory stays flat
    however many rows there are."""
    def chunks() -> Iterator[str]:
        out = io.StringIO()
        writer = spreadsheet.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            if out.tell() >= CHUNK:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    resp = Response(chunks(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    resp.headers["X-Has-Next"] = "false"
    return resp


def _all_rows() -> bool:
    """A CSV asked for without ``page`` or ``per_page``: every matching row, not a page (what
    a person downloading a period's CSV expects); JSON and an explicit page stay paged."""
    return _format() == "csv" and "page" not in request.args and "per_page" not in request.args


def _csv_rows(rows: Iterable[dict[str, Any]], money: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    return (amounts.with_major(plain(r), money) for r in rows)


def _format() -> str:
    """``?format=``: json (the default) or csv; anything else is refused, not answered as JSON."""
    fmt = request.args.get("format", "").strip() or "json"
    if fmt not in ("json", "csv"):
        raise InputError(f"format: expected one of json, csv, found {fmt!r}",
                         code="invalid_parameter")
    return fmt


def wants_csv() -> bool:
    return _format() == "csv"


def _listing(found: reports.Page, name: str, columns: list[str],
             money: tuple[str, ...] = (), csv_columns: list[str] | None = None) -> Response:
    """One page as JSON, or as CSV with ``money``'s columns also in major units (after all
    the others, unless ``csv_columns`` says where)."""
    rows = _plain(found.rows)
    if _format() == "csv":
        header = csv_columns or amounts.columns(columns, money)
        resp = csv_response(list(_csv_rows(rows, money)), header, name)
    else:
        resp = jsonify({"data": rows, "page": found.page, "per_page": found.per_page,
                        "has_next": found.has_next})
    resp.headers["X-Has-Next"] = "true" if found.has_next else "false"
    return resp


def _whole(name: str, default: int, low: int, high: int) -> int:
    """A paging parameter: absent is ``default``; anything but a whole number in
    ``low..high`` is a 400 naming it (as the OpenAPI document says), never a silent default."""
    raw = request.args.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
        raise InputError(f"{name}: expected a whole number from {low} to {high}, found "
                         f"{raw[:40]!r}", code="invalid_parameter")
    return int(raw)


def _paging() -> tuple[int, int]:
    return _whole("page", 1, 1, 10**9), _whole("per_page", 50, 1, 200)


@bp.get("/decisions")
@needs("finance")
def decisions() -> Response:
    filters = {k: request.args.get(k, "") for k in reports.DECISION_FILTERS}
    if _all_rows():
        every = reports.stream_decisions(runtime().engine, filters)
        return csv_stream(_csv_rows(every, DECISION_MONEY), CSV_COLUMNS, "decisions")
    found = reports.find_decisions(runtime().engine, filters, *_paging())
    return _listing(found, "decisions", EXPORT_COLUMNS, DECISION_MONEY, CSV_COLUMNS)


@bp.get("/attempts")
@needs("finance")
def attempts() -> Response:
    filters = {k: request.args.get(k, "") for k in reports.ATTEMPT_FILTERS}
    if _all_rows():
        every = reports.stream_attempts(runtime().engine, filters)
        return csv_stream(_csv_rows(every, reports.ATTEMPT_MONEY), reports.ATTEMPT_CSV_COLUMNS,
                          "attempts")
    found = reports.find_attempts(runtime().engine, filters, *_paging())
    return _listing(found, "attempts", reports.ATTEMPT_COLUMNS, reports.ATTEMPT_MONEY,
                    reports.ATTEMPT_CSV_COLUMNS)


SUMMARY_COLUMNS = ["day", "currency", "decisions", "sales", "refunded", "credited", "kept",
                   "review_count", "review_amount", "refund_rate_bp", "dry_run", "exchanges",
                   "exchange_retained", "exchange_charged", "exchange_original_due",
                   "exchange_original_paid", "sent_to_review", "review_approved",
                   "review_approved_amount", "review_declined"]
# minor units; the CSV adds each in major units after all the others (``sales_decimal``…)
SUMMARY_MONEY = ("sales", "refunded", "credited", "kept", "review_amount", "dry_run",
                 "exchange_retained", "exchange_charged", "exchange_original_due",
                 "exchange_original_paid", "review_approved_amount")
# came later (Stripe's test mode, apart from refunded, then from captured, then from the
# exchanges' payments): each with its ``_decimal`` after every earlier column, so none moves
SUMMARY_LATER = ("test_mode", "test_mode_sales", "test_mode_exchange_paid")


@bp.get("/summary")
@needs("finance")
def summary() -> Response:
    """The summary page's period (``insights.period``): no ``until`` is now, to the end of the
    current second; no ``since`` 30 days before ``until``."""
    p = period_params(dict(request.args), now(), 30)
    fmt = _format()
    data = summarize(runtime().engine, p.since, p.until, now()).to_json()
    if fmt == "csv":
        rows = [amounts.with_major({"day": day["day"], **t}, (*SUMMARY_MONEY, *SUMMARY_LATER))
                for day in data["days"] for t in day["totals"]]
        later = [c for name in SUMMARY_LATER for c in amounts.columns((name,), (name,))]
        return csv_response(rows, [*amounts.columns(SUMMARY_COLUMNS, SUMMARY_MONEY), *later],
                            "summary")
    return jsonify(data)


@bp.get("/withdrawals")
@needs("finance")
def withdrawals() -> Response:
    """EU withdrawals received in ``[since, until)`` (no bound when not given), the nearest
    legal deadline first."""
    start, end = reports.bounds(request.args)
    fmt = _format()
    rows = [w.to_json() for w in find_withdrawals(runtime().engine, start, end, now())]
    if fmt == "csv":  # the amounts also in major units, after the other columns
        flat = [amounts.with_major(
            {**r, "lines": "; ".join(f"{ln['quantity']} x {ln['name']}" for ln in r["lines"])},
            WITHDRAWAL_MONEY) for r in rows]
        return csv_response(flat, amounts.columns(WITHDRAWAL_COLUMNS, WITHDRAWAL_MONEY),
                            "withdrawals")
    return jsonify({"data": rows})


FOLLOW_UP_COLUMNS = [
    "kind", "order_id", "decision_id", "customer", "currency", "amount", "amount_text",
    "what_failed", "payment_reference", "status", "opened_at", "due_at", "cleared_at",
    "age_seconds",
]  # fmt: skip


@bp.get("/follow-ups")
@needs("finance")
def follow_ups() -> Response:
    """What a person should chase (``trouble.follow_ups.KINDS``): failed payments nothing has
    paid since, refused return labels, instant exchanges' originals owed, exchanges nobody was
    told to ship, payments another order holds, returns Saleor was never told of
    (``status=cleared|all`` for the others)."""
    status = request.args.get("status", "open").strip() or "open"
    if status not in ("open", "cleared", "all"):
        raise InputError(f"status: expected one of open, cleared, all, found {status[:40]!r}",
                         code="invalid_parameter")
    due = request.args.get("due", "").strip().lower()
    if due not in ("", "1", "true", "0", "false"):
        raise InputError(f"due: expected true or false, found {due[:40]!r}",
                         code="invalid_parameter")
    number, per_page = _paging()
    found = find_follow_ups(
        runtime().engine, runtime().service.policy, now(), status=status,
        due_only=due in ("1", "true"), page=number, per_page=per_page,
    )
    at = now()
    rows = [{**i.to_json(), "age_seconds": int((at - i.opened_at).total_seconds())}
            for i in found.items]
    page = reports.Page(rows, found.page, found.per_page, found.has_next)
    return _listing(page, "follow-ups", FOLLOW_UP_COLUMNS, ("amount",))


@bp.get("/outbox")
@needs("finance")
def outbox() -> Response:
    filters = {k: request.args.get(k, "") for k in outbox_read.FILTERS}
    found = outbox_read.find_outbox(runtime().engine, filters, *_paging())
    return _listing(found, "outbox", outbox_read.COLUMNS)


@bp.post("/outbox/<message_id>/resend")
@needs("admin")
def resend(message_id: str) -> Response:
    by = f"{g.principal.name} (token #{g.principal.token_id})"
    if not resend_message(runtime().engine, message_id, by, now()):
        return error_response(409, "not_failed", "only a failed message can be sent again")
    return jsonify({"id": message_id, "status": "queued"})


@bp.post("/exchanges/<decision_id>/shipped")
@needs("admin")
def exchange_shipped(decision_id: str) -> Response:
    """A person sent an exchange's new items (the ``exchange_unshipped`` follow-up): optional
    ``carrier`` and ``tracking_number``; 409 ``already_shipped`` on a second call."""
    body = json_body()
    body = {} if body is None and not request.get_data().strip() else body
    if not isinstance(body, dict) or set(body) - {"carrier", "tracking_number"}:
        return error_response(400, "invalid_request", "the body must be a JSON object with "
                              "carrier and tracking_number, both optional")
    done = by_hand.mark_shipped(
        runtime().engine, decision_id, by=f"{g.principal.name} (token #{g.principal.token_id})",
        carrier=body.get("carrier"), tracking_number=body.get("tracking_number"), now=now())
    return jsonify(done.to_json())


@bp.post("/exchanges/<decision_id>/difference-refunded")
@needs("admin")
def difference_refunded(decision_id: str) -> Response:
    """A person refunded at Stripe an exchange's paid difference (the
    ``exchange_difference_paid`` follow-up); 409 ``already_cleared`` on a second call."""
    done = by_hand.mark_difference_refunded(
        runtime().engine, decision_id, by=f"{g.principal.name} (token #{g.principal.token_id})",
        now=now())
    return jsonify(done.to_json())


@bp.post("/saleor-returns/<decision_id>/recorded")
@needs("admin")
def saleor_return_recorded(decision_id: str) -> Response:
    """A person recorded in Saleor's dashboard a return Saleor was never told of (the
    ``saleor_return_failed`` follow-up); 409 ``not_failed`` on a second call."""
    done = saleor_by_hand.mark_recorded(
        runtime().engine, decision_id, by=f"{g.principal.name} (token #{g.principal.token_id})",
        now=now())
    return jsonify(done.to_json())


@bp.post("/reviews/<decision_id>")
@needs("admin")
def decide(decision_id: str) -> Response:
    body = json_body()
    if not isinstance(body, dict):
        return error_response(400, "invalid_request", "the body must be a JSON object")
    action = body.get("action")
    if action not in ("approve", "decline"):
        return error_response(400, "invalid_request", "action must be approve or decline")
    wrong = [k for k, kind in (("note", str), ("customer_note", str), ("waive_fees", bool))
             if k in body and not isinstance(body[k], kind)]
    if wrong or body.get("resolution", "credit") != "credit":
        what = wrong[0] if wrong else "resolution"
        return error_response(400, "invalid_request",
                              f"{what} has the wrong type or value (see /api/openapi.json)")
    amount = body.get("amount")
    if isinstance(amount, float) and amount.is_integer():  # JSON Schema's integer: 2500.0 too
        amount = int(amount)
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        return error_response(400, "invalid_request",
                              "amount must be an integer in minor units (2500 for 25.00 EUR)")
    change = reviews.Adjustment(amount=amount, waive_fees=body.get("waive_fees") is True,
                                to_credit=body.get("resolution") == "credit")
    try:
        outcome = reviews.decide(
            runtime().engine, runtime().service, decision_id, approve=action == "approve",
            by=f"{g.principal.name} (token #{g.principal.token_id})",
            note=str(body.get("note", "")), now=now(),
            customer_note=str(body.get("customer_note", "")), change=change,
        )
    except ReviewClosed as exc:
        return error_response(409, exc.code, exc.message)
    return jsonify({"decision_id": outcome.decision_id, "order_id": outcome.order_id,
                    "status": outcome.status, "attempt_ids": list(outcome.attempt_ids),
                    "adjusted": outcome.adjusted})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
