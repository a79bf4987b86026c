"""``/finance``: server-rendered pages for finance and admins, usable without JavaScript.

Decisions, a decision, the review queue, the summary, and failed payments to follow up.

Login with an API token starts a session (Flask's signed cookie) that lasts ``SESSION_HOURS``
and ends early when the token expires or is revoked. Every form carries a per-session CSRF token
checked on every POST. ``finance`` reads; only ``admin`` decides reviews.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)  # fmt: skip
from sqlalchemy import select

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.errors import InputError, NotFound
from refunds_plugin.finance import reports
from refunds_plugin.finance.summary import summarize
from refunds_plugin.finance.tokens import Principal, check_token
from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import tokens
from refunds_plugin.trouble import follow_ups
from webhooks.finance import chart

bp = Blueprint(
    "finance", __name__, url_prefix="/finance", static_folder="../static", static_url_path="/static"
)
log = logging.getLogger("refunds.finance")
SESSION_HOURS = 8
View = Callable[..., Any]


def runtime() -> Runtime:
    found: Runtime = current_app.extensions["refunds"]
    return found


def now() -> datetime:
    return runtime().service.clock()


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    have = session.get("csrf", "")
    return bool(sent) and bool(have) and hmac.compare_digest(str(sent), str(have))


def _session_principal() -> Principal | None:
    token_id, until = session.get("token_id"), session.get("until")
    if token_id is None or until is None or now().timestamp() >= float(until):
        return None
    with runtime().engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == int(token_id))).first()
    if row is None or row.revoked_at is not None:
        return None
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=now().tzinfo)
    if expires is not None and expires <= now():
        return None
    return Principal(int(row.id), row.name, row.role, expires)


def page(status: int, template: str, **context: Any) -> Response:
    html = render_template(f"finance/{template}", **context)
    return Response(html, status=status, mimetype="text/html")


def refused(status: int, message: str) -> Response:
    return page(status, "refused.html", code=status, message=message)


def needs(role: str) -> Callable[[View], View]:
    """A valid session (or bearer token on a read) with ``role``; forms also need CSRF."""

    def wrap(view: View) -> View:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = _session_principal()
            if who is None and request.method == "GET":
                header = request.headers.get("Authorization", "")
                bearer = header[7:] if header.startswith("Bearer ") else None
                who = check_token(runtime().engine, bearer, now())
            if who is None:
                session.pop("token_id", None)
                return refused(401, "Please log in with a finance or admin token.")
            if request.method == "POST" and not _csrf_ok():
                return refused(400, "This form has expired or did not come from this site.")
            if not who.can(role):
                return refused(403, f"This needs the {role} role; your token is {who.role}.")
            g.principal = who
            return view(*args, **kwargs)

        return inner

    return wrap


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "principal": getattr(g, "principal", None),
            "shop_name": runtime().config.shop_name}


@bp.get("/login")
def login_form() -> Response:
    return page(200, "login.html", error=None)


@bp.post("/login")
def login() -> Any:
    if not _csrf_ok():
        return refused(400, "This form has expired or did not come from this site.")
    who = check_token(runtime().engine, request.form.get("token", "").strip(), now())
    if who is None:
        return page(401, "login.html", error="That token is not valid (or has expired).")
    session.clear()
    session["token_id"] = who.token_id
    session["until"] = (now() + timedelta(hours=SESSION_HOURS)).timestamp()
    csrf_token()
    log.info("finance login", extra={"token_id": who.token_id, "role": who.role})
    return redirect(url_for("finance.decisions_page"), code=303)


@bp.post("/logout")
@needs("finance")
def logout() -> Any:
    session.clear()
    return redirect(url_for("finance.login_form"), code=303)


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in reports.DECISION_FILTERS}


@bp.get("/")
@needs("finance")
def decisions_page() -> Response:
    filters = _filters()
    number = request.args.get("page", 1, type=int) or 1
    found = reports.find_decisions(runtime().engine, filters, number, 50)
    keep = {k: v for k, v in filters.items() if v}
    return page(200, "decisions.html", found=found, filters=filters, keep=keep)


@bp.get("/decisions/<decision_id>")
@needs("finance")
def decision_page(decision_id: str) -> Response:
    detail = reports.decision_detail(runtime().engine, decision_id)
    if detail is None:
        return refused(404, f"There is no decision {decision_id}.")
    return page(200, "decision.html", d=detail)


@bp.get("/reviews")
@needs("finance")
def reviews_page() -> Response:
    with runtime().engine.connect() as conn:
        queue = reviews.open_reviews(conn)
    return page(200, "reviews.html", queue=queue, message=request.args.get("done"))


@bp.post("/reviews/<decision_id>")
@needs("admin")
def decide_review(decision_id: str) -> Any:
    action = request.form.get("action")
    if action not in ("approve", "decline"):
        return refused(400, "Choose approve or decline.")
    try:
        outcome = reviews.decide(
            runtime().engine, runtime().service, decision_id, approve=action == "approve",
            by=f"{g.principal.name} (token #{g.principal.token_id})",
            note=request.form.get("note", ""), now=now(),
            customer_note=request.form.get("customer_note", ""),
        )
    except NotFound as exc:
        return refused(404, exc.message)
    except InputError as exc:
        return refused(409 if isinstance(exc, reviews.ReviewClosed) else 400, exc.message)
    done = f"{outcome.status} {decision_id}"
    return redirect(url_for("finance.reviews_page", done=done), code=303)


@bp.get("/summary")
@needs("finance")
def summary_page() -> Response:
    end = reports.parse_when(request.args.get("until")) or now()
    start = reports.parse_when(request.args.get("since")) or end - timedelta(days=30)
    summary = summarize(runtime().engine, start, end, now())
    data = summary.to_json()
    charts = [chart.bars(summary, cur) for cur in sorted(summary.totals)]
    return page(200, "summary.html", s=data, charts=charts, since=start, until=end)


@dataclass(frozen=True)
class FollowUpPage:
    items: list[follow_ups.FollowUp]
    page: int
    per_page: int
    has_next: bool


def find_follow_ups(status: str, due_only: bool, number: int, per_page: int) -> FollowUpPage:
    """One page of ``follow_ups.find`` (the listing the CLI uses), oldest first.

    Raises ValueError for a status that is not open, cleared or all."""
    number, per_page = max(1, number), min(reports.MAX_PER_PAGE, max(1, per_page))
    with runtime().engine.connect() as conn:
        items = follow_ups.find(
            conn, runtime().service.policy, now(), status=status, waiting=not due_only,
            limit=per_page + 1, offset=(number - 1) * per_page,
        )
    return FollowUpPage(items[:per_page], number, per_page, len(items) > per_page)


def age_text(seconds: float) -> str:
    """``3 d 4 h``, ``5 h 12 min``, ``40 min``: how long ago a payment failed."""
    minutes = max(0, int(seconds // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


@bp.get("/follow-ups")
@needs("finance")
def follow_ups_page() -> Response:
    status = request.args.get("status", "open").strip() or "open"
    due_only = request.args.get("due", "") == "1"
    number = request.args.get("page", 1, type=int) or 1
    try:
        found = find_follow_ups(status, due_only, number, 50)
    except ValueError:
        return refused(400, "Status must be open, cleared or all.")
    at = now()
    rows = [
        {"item": i, "age": age_text((at - i.opened_at).total_seconds()),
         "due": i.due_at <= at}
        for i in found.items
    ]
    keep = {"status": status, **({"due": "1"} if due_only else {})}
    return page(200, "follow_ups.html", found=found, rows=rows, show=status,
                due_only=due_only, keep=keep)
