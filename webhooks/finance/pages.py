"""``/finance``: server-rendered pages for finance and admins, usable without JavaScript.

Decisions, a decision, the review queue, the summary, and what to follow up. Money is
written in its currency and times in UTC (``display``); an admin may change a review's amount,
waive its fees or give store credit instead when approving it.

Login with an API token starts a session that lasts ``SESSION_HOURS`` and ends early when the
token expires or is revoked, or at logout: the signed cookie carries only the secret of a session
kept in the database (``finance.sessions``), so a saved copy of the cookie is refused after logout
on every host. Every form carries the session's CSRF token,
checked on every POST (``webhooks.security``). ``finance`` reads; only ``admin`` decides reviews.
"""

from __future__ import annotations

import logging
from datetime import timedelta
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
)
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError

from refunds_plugin.errors import Conflict, InputError, NotFound, ReviewClosed
from refunds_plugin.exchanges import by_hand
from refunds_plugin.finance import outbox as outbox_read
from refunds_plugin.finance import reports, sessions
from refunds_plugin.finance.detail import Reader, decision_detail, unreadable_line
from refunds_plugin.finance.summary import summarize
from refunds_plugin.finance.tokens import Principal, check_token
from refunds_plugin.finance.told import decided_in_test_mode, told_customer
from refunds_plugin.insights.period import period_params
from refunds_plugin.intake import reviews
from refunds_plugin.intake import saleor_returns as saleor_by_hand
from refunds_plugin.language import written_in
from refunds_plugin.language.catalogue import english
from refunds_plugin.money import AmountError, Money
from refunds_plugin.notify.preview import standing
from refunds_plugin.routing import money_modes
from refunds_plugin.shipping import listing
from refunds_plugin.trouble import follow_ups
from webhooks.finance import amount_field, chart, display, login_limits
from webhooks.finance.session import (
    Gate,
    bearer_principal,
    now,
    runtime,
    session_principal,
    tell,
    told,
)

bp = Blueprint(
    "finance", __name__, url_prefix="/finance", static_folder="../static", static_url_path="/static"
)
log = logging.getLogger("refunds.finance")
SESSION_HOURS = 8
SUMMARY_DAYS = 30  # how far back the summary looks without a From
EXPIRED_FORM = "This form has expired or did not come from this site."
display.register(bp)


def page(status: int, template: str, **context: Any) -> Response:
    html = render_template(f"finance/{template}", **context)
    return Response(html, status=status, mimetype="text/html")


def refused(status: int, message: str, back: tuple[str, str] | None = None) -> Response:
    """A refusal page; ``back`` is (url, words) leading to where the person can try again."""
    return page(status, "refused.html", code=status, message=message, back=back)


def _who() -> Principal | None:
    """The session's holder, or on a read a bearer token's (links from scripts and mail)."""
    who = session_principal()
    if who is None and request.method == "GET":
        who = bearer_principal()
    return who


def _log_in_again() -> Response:
    session.pop("sid", None)
    return refused(401, "Please log in with a finance or admin token.")


def _not_allowed(role: str, who: Principal) -> Response:
    """Too weak a role; a warehouse token is led to the one page it can use, not to pages it
    cannot open either."""
    back = (url_for("finance_receiving.receive_page"), "Receive returns") \
        if who.role == "warehouse" else None
    roles = role if role == "admin" else f"{role} or admin"  # an admin token opens every page
    return refused(403, f"This needs the {roles} role; your token is {who.role}.", back)


# a valid session (or bearer token on a read) with the role; forms were already checked for
# their CSRF token, app-wide (webhooks.security)
needs = Gate(identify=_who, unauthorized=_log_in_again, forbidden=_not_allowed).needs


def expired_form(_exc: CSRFError) -> Response:
    return refused(400, EXPIRED_FORM)


bp.register_error_handler(CSRFError, expired_form)


@bp.errorhandler(InputError)
def _bad_input(exc: InputError) -> Response:
    """A filter that cannot be read (``?since=yesterday``): the page says which, as HTML."""
    return refused(400, exc.message)


@bp.app_context_processor
def _context() -> dict[str, Any]:
    config = runtime().config
    return {"principal": getattr(g, "principal", None), "shop_name": config.shop_name,
            "money_notice": display.money_notice(money_modes(config))}


@bp.get("/login")
def login_form() -> Response:
    return page(200, "login.html", error=None)


@bp.post("/login")
def login() -> Any:
    token = request.form.get("token", "").strip()
    limiter, config, ip = current_app.extensions["limiter"], runtime().config, get_remote_address()
    if login_limits.refused(limiter, config, ip, token):
        log.warning("finance login refused: too many failures", extra={"client": ip})
        return page(429, "login.html", error="Too many failed log-ins. Please wait a few "
                                             "minutes, then try again.")
    if not token:  # nothing was tried: no failure counted against this address
        return page(400, "login.html", error="Please enter your token.")
    who = check_token(runtime().engine, token, now())
    if who is None:
        login_limits.failed(limiter, config, ip, token, "unknown, revoked or expired token")
        return page(401, "login.html",
                    error="That token is not valid: it is unknown, revoked or expired.")
    session.clear()
    session["sid"] = sessions.start_session(runtime().engine, who, now(),
                                            timedelta(hours=SESSION_HOURS))
    log.info("finance login", extra={"token_id": who.token_id, "role": who.role})
    home = "finance_receiving.receive_page" if who.role == "warehouse" \
        else "finance.decisions_page"
    return redirect(url_for(home), code=303)


@bp.post("/logout")
@needs("anyone")
def logout() -> Any:
    sessions.end_session(runtime().engine, session.get("sid"))  # on every host, at once
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
    detail = decision_detail(runtime().engine, decision_id, runtime().config.default_locale)
    if detail is None:
        return refused(404, f"There is no decision {decision_id}.")
    return page(200, "decision.html", d=detail,
                shipment=listing.one(runtime().engine, decision_id),
                exchange=by_hand.standing(runtime().engine, decision_id),
                messages=outbox_read.messages_about(runtime().engine, decision_id),
                fits=standing(detail["decision"]["outcome"],
                              detail["decision"]["review_status"])[1],
                done=told())


@bp.get("/reviews")
@needs("finance")
def reviews_page() -> Response:
    return _reviews_page(200)


# what the review form sends, kept when a decision on it is refused
KEPT_FIELDS = ("note", "customer_note", "amount", "waive_fees", "to_credit")


def _reviews_page(status: int, kept: dict[str, str] | None = None) -> Response:
    """The queue; ``kept``: a refused form's ``decision_id``, ``error`` and what was typed,
    shown again in that review's form."""
    queue = reviews.review_queue(runtime().engine)
    default = runtime().config.default_locale
    return page(status, "reviews.html", queue=[_queued(rv, default) for rv in queue],
                message=told(), kept=kept or {})


def _queued(rv: Any, default_locale: str) -> dict[str, Any]:
    """A review as the queue shows it: what the customer wrote (empty when nothing) and the
    fees; one whose stored request or body cannot be read says so instead of a form."""
    reader = Reader()
    request_json = reader.object("decisions.request", rv.request)
    body = reader.object("decisions.body", rv.body)
    unreadable = unreadable_line(rv.decision_id, reader.unreadable) if reader.unreadable \
        else None
    if unreadable:
        log.error("review of decision %s, order %s: %s", rv.decision_id, rv.order_id,
                  unreadable, extra={"decision_id": rv.decision_id, "order_id": rv.order_id})
    return {**rv._mapping, "comment": str(request_json.get("comment") or ""),
            "fees": sum(int(f.get("amount", 0)) for f in body.get("fees", [])),
            # as the customer read it: in a dry run, "we would" (``as_dry_run``)
            "told": told_customer(rv.explanation, rv.said, written_in(rv.chosen_locale, rv.locale),
                                  default_locale, test_mode=decided_in_test_mode(rv.facts)),
            "unreadable": unreadable}


def _change(currency: str) -> reviews.Adjustment:
    """The form's optional change: an amount in major units, ``waive_fees``, ``to_credit``."""
    text = request.form.get("amount", "").strip()
    try:
        amount = amount_field.typed_minor(text, currency) if text else None
    except AmountError as exc:
        raise InputError(str(exc), code="bad_amount") from None
    return reviews.Adjustment(amount=amount, waive_fees=request.form.get("waive_fees") == "1",
                              to_credit=request.form.get("to_credit") == "1")


@bp.post("/reviews/<decision_id>")
@needs("admin")
def decide_review(decision_id: str) -> Any:
    back = (f"{url_for('finance.reviews_page')}#review-{decision_id}", "Back to the review form")
    action = request.form.get("action")
    if action not in ("approve", "decline"):
        return refused(400, "Choose approve or decline.", back)
    detail = decision_detail(runtime().engine, decision_id)
    if detail is None:
        return refused(404, f"There is no decision {decision_id}.")
    order = detail["decision"]["order_id"]
    back = (back[0], f"Back to the review of order {order}")
    if detail["unreadable"]:  # never decided on a guess: a person repairs the row first
        return refused(409, detail["unreadable"], back)
    try:
        outcome = reviews.decide(
            runtime().engine, runtime().service, decision_id, approve=action == "approve",
            by=f"{g.principal.name} (token #{g.principal.token_id})",
            note=request.form.get("note", ""), now=now(),
            customer_note=request.form.get("customer_note", ""),
            change=_change(detail["decision"]["currency"]),
        )
    except NotFound as exc:
        return refused(404, exc.message, back)
    except InputError as exc:
        message = f"Nothing was recorded: {exc.message}."
        if isinstance(exc, ReviewClosed):
            return refused(409, message, back)
        # the review is still open: its form again, with the error and what was typed
        return _reviews_page(400, {"decision_id": decision_id, "error": message,
                                   "field": "amount" if exc.code == "bad_amount" else "",
                                   **{k: request.form.get(k, "") for k in KEPT_FIELDS}})
    done = f"{outcome.status.capitalize()} the review of order {order}"
    if outcome.adjusted:
        cur = detail["decision"]["currency"]
        done += (f": {outcome.adjusted['resolution']} of "
                 f"{english(outcome.adjusted['amount'], cur)}")
    tell(done + ".")
    return redirect(url_for("finance.reviews_page"), code=303)


@bp.get("/summary")
@needs("finance")
def summary_page() -> Response:
    """The period asked for, as the insights pages take it (``insights.period``): an empty
    Until is now, to the end of the current second; the form keeps what was asked, so Show
    pressed unchanged shows the same decisions."""
    p = period_params(dict(request.args), now(), SUMMARY_DAYS)
    summary = summarize(runtime().engine, p.since, p.until, now())
    data = summary.to_json()
    charts = [chart.bars(summary, cur) for cur in sorted(summary.totals)]
    asked = {k: request.args.get(k, "").strip() for k in ("since", "until")}
    return page(200, "summary.html", s=data, charts=charts, p=p, args=request.args,
                days=SUMMARY_DAYS, csv_args={k: v for k, v in asked.items() if v})


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
        found = follow_ups.find_page(
            runtime().engine, runtime().service.policy, now(), status=status,
            due_only=due_only, page=number, per_page=50,
        )
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
                due_only=due_only, keep=keep, done=told(),
                csv_args={"status": status, **({"due": "true"} if due_only else {}),
                          "page": found.page})


@bp.post("/exchanges/<decision_id>/shipped")
@needs("admin")
def exchange_shipped(decision_id: str) -> Any:
    """A person sent an exchange's new items (the ``exchange_unshipped`` follow-up's form, or
    the decision page's): recorded once, then back where the form was."""
    on_decision = request.form.get("from") == "decision"
    there = (url_for("finance.decision_page", decision_id=decision_id) if on_decision
             else url_for("finance.follow_ups_page"))
    back = (there, "Back to the decision" if on_decision else "Back to the follow-ups")
    try:
        done = by_hand.mark_shipped(
            runtime().engine, decision_id, by=f"{g.principal.name} (token #{g.principal.token_id})",
            carrier=request.form.get("carrier"), tracking_number=request.form.get("tracking"),
            now=now())
    except NotFound as exc:
        return refused(404, f"Nothing was recorded: {exc.message}.", back)
    except InputError as exc:
        return refused(409 if isinstance(exc, Conflict) else 400,
                       f"Nothing was recorded: {exc.message}.", back)
    said = (f"Exchange {decision_id} of order {done.order_id} is recorded as shipped "
            f"({done.words()})" + ("; its follow-up is cleared." if done.follow_up_cleared
                                   else "."))
    tell(said)
    return redirect(there, code=303)


def _by_hand(mark: Any, decision_id: str) -> tuple[Any, Any]:
    """A follow-up's by-hand form, recorded for the signed-in person: (what ``mark`` recorded,
    None), or (None, the refusal page) when nothing was recorded (unknown: 404; done: 409)."""
    back = (url_for("finance.follow_ups_page"), "Back to the follow-ups")
    try:
        return mark(runtime().engine, decision_id,
                    by=f"{g.principal.name} (token #{g.principal.token_id})", now=now()), None
    except NotFound as exc:
        return None, refused(404, f"Nothing was recorded: {exc.message}.", back)
    except Conflict as exc:
        return None, refused(409, f"Nothing was recorded: {exc.message}.", back)


@bp.post("/exchanges/<decision_id>/difference-refunded")
@needs("admin")
def difference_refunded(decision_id: str) -> Any:
    """The ``exchange_difference_paid`` follow-up's form: refunded at Stripe by a person."""
    done, refusal = _by_hand(by_hand.mark_difference_refunded, decision_id)
    if refusal is not None:
        return refusal
    paid = "" if done.amount is None or not done.currency else \
        f" ({Money(done.amount, done.currency)})"
    tell(f"The paid difference{paid} of exchange {decision_id} (order {done.order_id}) is "
         "recorded as refunded by hand; its follow-up is cleared.")
    return redirect(url_for("finance.follow_ups_page"), code=303)


@bp.post("/saleor-returns/<decision_id>/recorded")
@needs("admin")
def saleor_return_recorded(decision_id: str) -> Any:
    """A person recorded in Saleor's dashboard a return Saleor was never told of (the
    ``saleor_return_failed`` follow-up's form): recorded once, then back to the follow-ups."""
    done, refusal = _by_hand(saleor_by_hand.mark_recorded, decision_id)
    if refusal is not None:
        return refusal
    tell(f"The return of decision {decision_id} (order {done.order_id}) is recorded as entered "
         "in the Saleor dashboard" + ("; its follow-up is cleared." if done.follow_up_cleared
                                      else "."))
    return redirect(url_for("finance.follow_ups_page"), code=303)
