"""``/returns``: the customer's returns page, server-rendered and usable without JavaScript.

Order number + email → the lines with what can go back and until when → a request decided by
``Service.return_requested`` (the storefront's path) → the answer, and a signed status link.
Look-ups are rate limited per IP, and wrong emails per order number (``lookup_limits``;
Flask-Limiter storage from ``REFUNDS_RATELIMIT_STORAGE_URI`` so limits hold across workers);
every form carries the session's CSRF token (checked app-wide, ``webhooks.security``); the
return form carries a signed nonce from which the request and event ids are derived, so
submitting it twice decides one return; the decision is answered with a redirect (303) to its
signed answer page (``decided``), so back and reload never post it again. The shop's colours
come as a small stylesheet of their own (``/returns/theme.css``): the pages hold no inline
style or script.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

import policies
from refunds_plugin.bootstrap import Runtime
from refunds_plugin.config import Config
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.intake import returns_page as ret
from refunds_plugin.intake import withdrawals
from refunds_plugin.language import catalogue, postal
from refunds_plugin.ledger import text
from refunds_plugin.notify import links
from refunds_plugin.notify.theme import theme
from refunds_plugin.routing import no_money_moves
from webhooks import security
from webhooks.language import chosen_locale
from webhooks.returns import decided, languages, lookup_limits, policy_page, render
from webhooks.returns import feedback as feedback_mod
from webhooks.returns import form as form_mod
from webhooks.returns import strings as strings_mod
from webhooks.returns import withdrawal as withdrawal_mod

SESSION_KEY = "returns_order"
QUOTE_KEY = "returns_quote"  # the fields of the quote last asked for (shown by GET)
ACCESS_SECONDS = 30 * 60  # how long a matched order stays open in the session


def init_app(app: Flask) -> None:
    rt: Runtime = app.extensions["refunds"]
    if app.config.get("SECRET_KEY") is None:
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.setdefault("RETURNS_LOOKUP_LIMIT_IP", rt.config.returns_lookup_limit_ip)
    app.config.setdefault("RETURNS_LOOKUP_LIMIT_ORDER", rt.config.returns_lookup_limit_order)
    limiter: Limiter = app.extensions["limiter"]  # made by webhooks.security, shared
    app.register_blueprint(_blueprint(limiter))


def _rt() -> Runtime:
    return current_app.extensions["refunds"]


def _t() -> strings_mod.Strings:
    return strings_mod.strings()


def _in_order_language(order_id: str | None) -> None:
    """The order's language, where it gave one, before the browser's (``webhooks.language``)."""
    if order_id is not None:
        g.locale = ret.order_locale(_rt().engine, order_id)
        refresh()  # a language chosen earlier in this request is chosen again


def _in_decision_language(decision_id: str) -> None:
    """The language of the order a decision is about, as the status page picks it."""
    g.locale = ret.decision_locale(_rt().engine, decision_id)
    refresh()


def _lang() -> str:
    return str(get_locale() or "en")


def _signer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def status_token(decision_id: str) -> str:
    return links.status_token(current_app.config["SECRET_KEY"], decision_id)


def _page(template: str, status: int = 200, *, test_mode: bool | None = None,
          **context: Any) -> tuple[str, int]:
    """``test_mode``: whether the money of the order on this page would not move (its
    provider's mode: a Saleor shop's refunds are real without a Stripe key); a page about no
    order says test mode only when no provider moves money."""
    cfg = _rt().config
    dry_run = no_money_moves(cfg) if test_mode is None else test_mode
    t = _t()
    # REFUNDS_SHOP_NAME unset: the placeholder name in the reader's language, like the rest
    shop = t.shop_default if cfg.shop_name == Config.shop_name else cfg.shop_name
    return render_template(
        f"returns/{template}", t=t, shop=shop, logo=cfg.shop_logo_url,
        csrf=generate_csrf(),
        money=_money, listed=_listed, day=_day, say=_say, postal=postal.lines, dry_run=dry_run,
        withdrawal_enabled=cfg.withdrawal_enabled,
        packing_notes=_rt().policy.return_shipping.packing_notes_for(
            _lang(), cfg.default_locale), **context,
    ), status


def _day(iso: str) -> date:
    """The date of an ISO 8601 time (``return_by``), for ``t.date``."""
    return date.fromisoformat(iso[:10])


def _money(minor: int, currency: str) -> str:
    """Exact money as the reader writes it (``12.50 EUR``, ``12,50 €``)."""
    return catalogue.money(minor, currency, _lang())


def _listed(items: Iterable[str]) -> str:
    """Items as the explanation lists them: ``2 × Mug and Cup`` (``Mug und Cup``)."""
    return catalogue.listed(list(items), _lang())


def _say(value: str) -> str:
    """A policy sentence (``language.said``) in the reader's language; other text as it is."""
    return render.sentence(value, _lang())


def _message(heading: str, body: str, status: int) -> tuple[str, int]:
    return _page("message.html", status, heading=heading, body=body)


def _session_order() -> str | None:
    held = session.get(SESSION_KEY)
    if not isinstance(held, dict) or time.time() - float(held.get("at", 0)) > ACCESS_SECONDS:
        return None
    return str(held["order"])


def _blueprint(limiter: Limiter) -> Blueprint:
    bp = Blueprint("returns", __name__, template_folder="../templates",
                   static_folder="../static", static_url_path="/returns/static")
    ip_limit = limiter.limit(lambda: current_app.config["RETURNS_LOOKUP_LIMIT_IP"],
                             methods=["POST"], scope="returns-lookup-ip")
    bp.add_url_rule("/returns", "lookup", ip_limit(lookup), methods=["GET", "POST"])
    bp.add_url_rule("/returns/order", "order", order_form, methods=["GET", "POST"])
    bp.add_url_rule("/returns/quote", "quote", quote_page)
    answer, status = decided.views(decided.Hooks(_page, _message, _rt, _signer, _status_url,
                                                 _lang))
    bp.add_url_rule("/returns/answer/<token>", "answer", answer)
    bp.add_url_rule("/returns/status/<token>", "status", status)
    withdraw, withdraw_confirm, withdrawn = withdrawal_mod.views(withdrawal_mod.Hooks(
        _page, _message, _rt, _session_order, _signer, _status_url))
    bp.add_url_rule("/returns/withdraw", "withdraw", withdraw, methods=["GET", "POST"])
    bp.add_url_rule("/returns/withdraw/confirm", "withdraw_confirm", withdraw_confirm)
    bp.add_url_rule("/returns/withdraw/received/<token>", "withdrawn", withdrawn)
    bp.add_url_rule("/returns/feedback/<decision_id>/<signature>", "feedback",
                    feedback_mod.views(_page, _message, _t, lambda: _rt().service.clock(),
                                       lambda: _rt().engine, _in_decision_language),
                    methods=["GET", "POST"])
    bp.add_url_rule("/returns/theme.css", "theme_css", theme_css)
    languages.init(bp)  # ?lang=: the reader's choice, before the order's language
    policy, policy_json = policy_page.views(_page, _rt, _lang)
    bp.add_url_rule("/returns/policy", "policy", policy)
    bp.add_url_rule("/returns/policy.json", "policy_json", policy_json)
    bp.after_request(_no_store)  # the other headers: webhooks.security, for every page
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(CSRFError, _expired_form)
    return bp


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def theme_css() -> Response:
    """The shop's colours (made safe by ``theme``) as CSS variables: not inline, so the pages'
    Content-Security-Policy allows styles from this origin only."""
    th = theme(_rt().config.shop_primary_color)
    css = (f":root {{ --primary: {th.primary}; --on-primary: {th.on_primary}; "
           f"--link: {th.link}; }}\n")
    return Response(css, mimetype="text/css")


def _expired_form(_exc: CSRFError) -> tuple[str, int]:
    t = _t()
    return _message(t.form_expired_heading, t.form_expired, 400)


def page_missing() -> tuple[str, int]:
    """An address under ``/returns`` that is no page (``webhooks.not_found``)."""
    t = _t()
    return _message(t.missing_heading, t.missing_body, 404)


def _http_error(exc: HTTPException) -> tuple[str, int]:
    t = _t()
    if exc.code == 429:  # the per-address limit on the look-up
        return _too_many(lookup_limits.address_wait(current_app.extensions["limiter"]))
    return _message(t.error_heading, t.error_body, exc.code or 500)


def _too_many(seconds: int) -> tuple[str, int]:
    """A refused look-up: its words and its ``Retry-After`` give the same wait."""
    security.retry_after(seconds)
    t = _t()
    return _message(t.too_many_heading, t.too_many_tries(-(-seconds // 60)), 429)


# --- views ------------------------------------------------------------------------------------


def lookup() -> Any:
    t = _t()
    if request.method == "GET":
        return _page("lookup.html", order_number="", email="", error=None)
    number = request.form.get("order_number", "")[:255]
    email = request.form.get("email", "")[:320]
    if not ret.normalize_order_number(number) or not email.strip():
        return _page("lookup.html", 400, order_number=number, email=email,
                     error=t.missing_fields, next=request.form.get("next"))
    if text.problem(number, is_id=True) or text.problem(email, is_id=True):
        return _page("lookup.html", 400, order_number=text.readable(number),
                     email=text.readable(email), error=t.unreadable_text,
                     next=request.form.get("next"))
    rt = _rt()
    facts = ret.find_order(rt.engine, number, email, rt.service.clock(),
                           rt.policy.abuse_window_days)
    limiter = current_app.extensions["limiter"]
    guard = (limiter, current_app.config["RETURNS_LOOKUP_LIMIT_ORDER"],
             ret.normalize_order_number(number)[:255], get_remote_address())
    if lookup_limits.refused(*guard, matched=facts is not None):
        return _too_many(lookup_limits.order_wait(*guard))
    if facts is None:  # unknown order and wrong email: one answer, word for word
        lookup_limits.failed(*guard)
        return _page("lookup.html", 404, order_number=number, email=email, error=t.not_found,
                     next=request.form.get("next"))
    session[SESSION_KEY] = {"order": facts.order_id, "at": time.time()}
    if request.form.get("next") == "withdraw":  # came from "Withdraw from contract here"
        return redirect(url_for("returns.withdraw"), 303)
    return redirect(url_for("returns.order"), 303)


def order_form() -> Any:
    t = _t()
    order_id = _session_order()
    _in_order_language(order_id)
    if order_id is None:
        if request.method == "GET":
            return redirect(url_for("returns.lookup"), 303)
        return _message(t.form_expired_heading, t.form_expired, 400)
    rt = _rt()
    now = rt.service.clock()
    facts = ret.load_order(rt.engine, order_id, now, rt.policy.abuse_window_days)
    if facts is None:
        return _message(t.form_expired_heading, t.form_expired, 400)
    facts = rt.service.decided_on(facts)  # the form and the quote offer what the service does
    if request.method == "GET":
        nonce = secrets.token_urlsafe(18)
        return _form(facts, _signer("returns-form").dumps({"o": order_id, "n": nonce}), [])
    event_id = _event_id(request.form, order_id)
    if event_id is None:
        return _message(t.form_expired_heading, t.form_expired, 400)
    earlier = ret.earlier_decision(rt.engine, order_id, event_id)
    if earlier is not None:  # a double click or a reload: the first decision, not a new form
        return _to_answer(earlier.id)
    form_token = request.form.get("form_token", "")
    step = request.form.get("step", "send")
    if step == "edit":  # back from the quote, with the choices kept
        return _form(facts, form_token, [], values=request.form)
    req, errors = form_mod.parse(facts, request.form, t, event_id,
                                 rt.service.exchange_choices(facts))
    if errors or req is None:
        return _form(facts, form_token, errors, 400, values=request.form)
    if step == "quote":  # post, redirect, get: back from the answer is the quote, not a re-post
        session[QUOTE_KEY] = {"o": order_id, "f": [
            (k, v[:2000]) for k, v in request.form.items(multi=True)
            if k not in ("step", "csrf_token")]}
        return redirect(url_for("returns.quote"), 303)
    payload = json.dumps({"order_id": order_id, "form": _submitted()}, sort_keys=True)
    answer = rt.service.return_requested("returns_page", event_id, "return.requested",
                                         payload, req, locale=chosen_locale())  # its mails
    rt.service.answer_with_code(answer)  # a store credit's code, worth a short wait
    return _to_answer(answer.recorded.id)


def quote_page() -> Any:
    """``GET /returns/quote``: the quote last asked for in this session, worked out again from
    its fields (nothing is kept but them); once sent, its answer; without one, the form."""
    t = _t()
    order_id = _session_order()
    _in_order_language(order_id)
    held = session.get(QUOTE_KEY)
    if order_id is None or not isinstance(held, dict) or held.get("o") != order_id:
        return redirect(url_for("returns.order"), 303)
    rt = _rt()
    facts = ret.load_order(rt.engine, order_id, rt.service.clock(), rt.policy.abuse_window_days)
    form = MultiDict([(str(k), str(v)) for k, v in held.get("f") or []])
    event_id = _event_id(form, order_id)
    if facts is None or event_id is None:
        return _message(t.form_expired_heading, t.form_expired, 400)
    earlier = ret.earlier_decision(rt.engine, order_id, event_id)
    if earlier is not None:  # sent already (back from the answer): its answer, not "Send" again
        return _to_answer(earlier.id)
    facts = rt.service.decided_on(facts)  # as order_form: what the service offers
    req, errors = form_mod.parse(facts, form, t, event_id, rt.service.exchange_choices(facts))
    if errors or req is None:  # the order changed since (another return): say what to fix
        return _form(facts, form.get("form_token", ""), errors, 400, values=form)
    return _quote(facts, req, list(form.items(multi=True)))


def _event_id(form: Mapping[str, str], order_id: str) -> str | None:
    """The request's event id, from the nonce the form was rendered with for this order; None
    for a form token that is not ours (expired, forged, another order's)."""
    try:
        issued = _signer("returns-form").loads(form.get("form_token", ""))
    except BadSignature:
        issued = None
    if not isinstance(issued, dict) or issued.get("o") != order_id:
        return None
    return f"returns-page-{issued['n']}"


def _to_answer(decision_id: str) -> Any:
    """Post, redirect, get: the answer is a page of its own, so the back button and a reload
    show it again rather than offering to post the form once more."""
    return redirect(url_for("returns.answer", token=status_token(decision_id)), 303)


def _form(facts: OrderFacts, form_token: str, errors: list[form_mod.Problem],
          code: int = 200, values: Mapping[str, str] | None = None) -> tuple[str, int]:
    rt = _rt()
    options = ret.line_options(rt.policy, facts, rt.service.clock(),
                               rt.service.exchange_choices(facts))
    shown = form_mod.shown_fields(options)
    name = ret.order_name(rt.engine, facts.order_id)  # "1001", not Saleor's global id
    found = ret.earlier_returns(rt.engine, facts.order_id)
    earlier = render.earlier(found, strings_mod.strings())  # each with its status link
    test_mode = rt.service.dry_run_for(facts)
    if found and all(o.state == "returned" for o in options):
        return _page("returned.html", test_mode=test_mode, order=facts, order_name=name,
                     earlier=earlier, status_link=_status_url)
    return _page("order.html", code, test_mode=test_mode, order=facts, order_name=name,
                 options=options, earlier=earlier, status_link=_status_url,
                 withdrawal=withdrawals.offered(rt.config, rt.engine, facts.order_id),
                 form_token=form_token,
                 choices=ret.choices(rt.policy), reasons=list(Reason),
                 refund_faults_only=ret.refund_for_faults_only(options),
                 errors=form_mod.on_fields(errors, shown),
                 field_errors=form_mod.by_field(errors, shown),
                 values=values or {})


def _submitted() -> dict[str, str]:
    skip = {"csrf_token", "form_token"}
    return {k: v[:2000] for k, v in request.form.items() if k not in skip}


def _quote(facts: OrderFacts, req: ReturnRequest,
           fields: list[tuple[str, str]]) -> tuple[str, int]:
    """What this request would get, by the same evaluation the service makes, recorded nowhere;
    the confirm button sends the same ``fields`` again (with this page's CSRF token)."""
    rt = _rt()
    decision = policies.evaluate(rt.policy, facts, req, rt.service.clock())
    test_mode = rt.service.dry_run_for(facts)
    return _page("quote.html", test_mode=test_mode, decision=decision,
                 fields=fields,
                 items=render.items(decision, render.names_of(facts)),
                 refused=render.refused(decision, render.names_of(facts), _lang()),
                 explanation=render.explanation(decision, False, _lang(), test_mode))


def _status_url(decision_id: str) -> str:
    return url_for("returns.status", token=status_token(decision_id))
