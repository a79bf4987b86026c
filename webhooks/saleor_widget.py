"""The order widget Saleor's Dashboard shows on an order page (Saleor 3.22+).

``POST /saleor/widget/order`` ← the Dashboard's hidden form (``saleorApiUrl``, ``accessToken``,
``appId``, ``orderId``), posted into a sandboxed iframe: the order's decisions, their money and
any open review. ``POST /saleor/widget/review`` ← the widget's own approve/decline form, which
sends the Dashboard's token again (checked again: it lasts minutes) and a signed form token.

No cookie is used: a cross-site iframe rarely gets one, and the Dashboard's token is the proof
of who is looking. The pages may be framed only by the Saleor Dashboards this service serves
(``frame-ancestors``: the allowed API URLs' origins, where Saleor Cloud and the default setup
serve the Dashboard, plus ``REFUNDS_SALEOR_DASHBOARD_URLS``).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, render_template, request

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.errors import InputError, NotFound, ReviewClosed
from refunds_plugin.saleor import installs, widget
from refunds_plugin.saleor.dashboard_token import DashboardTokenError, StaffToken, verify
from refunds_plugin.saleor.installs import normalize_api_url

bp = Blueprint("saleor_widget", __name__)
log = logging.getLogger("refunds.saleor.widget")
MAX_FIELD = 4096


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["refunds"]
    return found


def _app_base() -> str:
    """This service's public URL, as the manifest names it (and as the token's audience)."""
    return (_runtime().config.saleor_app_url or request.url_root).rstrip("/")


def _field(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD].strip()


def _staff() -> StaffToken:
    """The verified Dashboard token posted with this form; raises DashboardTokenError."""
    raw = _field("saleorApiUrl")
    if urlsplit(raw).scheme not in ("http", "https"):
        raise DashboardTokenError("the Dashboard sent no saleorApiUrl", code="unknown_saleor")
    api_url = normalize_api_url(raw)
    web = current_app.extensions["saleor"]
    install = None
    if web.allowed(api_url):
        install = installs.find(_runtime().engine, api_url)
    return verify(
        _field("accessToken"), api_url=api_url, app_id=_field("appId"), install=install,
        store=web.keys, now=_runtime().service.clock(), audience=_app_base(),
    )


def _page(status: int, template: str, **context: Any) -> Response:
    html = render_template(f"saleor/{template}", nonce=g.csp_nonce, **context)
    return Response(html, status=status, mimetype="text/html")


def _refused(status: int, message: str) -> Response:
    return _page(status, "refused.html", code=status, message=message)


def _order_page(
    staff: StaffToken, order_id: str, status: int = 200, *, done: str | None = None,
    error: str | None = None,
) -> Response:
    view = widget.order_view(_runtime().engine, staff, order_id)
    can = staff.can(widget.DECIDE_PERMISSION)
    secret = str(current_app.config["SECRET_KEY"])
    tokens = {
        d.row["id"]: widget.form_token(secret, staff, order_id, d.row["id"])
        for d in view.decisions if d.open and can
    }
    posted = {name: _field(name) for name in ("saleorApiUrl", "accessToken", "appId")}
    return _page(
        status, "widget.html", view=view, staff=staff, can_decide=can, tokens=tokens,
        posted=posted, finance_url=f"{_app_base()}/finance/decisions/", done=done, error=error,
        permission=widget.DECIDE_PERMISSION,
    )


def _order_id() -> str:
    order_id = _field("orderId")
    if not order_id or len(order_id) > 255:
        raise InputError("the Dashboard sent no orderId", code="missing_order")
    return order_id


@bp.post("/saleor/widget/order")
def order() -> Response:
    try:
        staff = _staff()
        order_id = _order_id()
    except InputError as exc:  # DashboardTokenError included
        log.warning("order widget refused: %s (%s)", exc.message, exc.code)
        return _refused(401 if isinstance(exc, DashboardTokenError) else 400, exc.message)
    return _order_page(staff, order_id)


@bp.post("/saleor/widget/review")
def review() -> Response:
    try:
        staff = _staff()
        order_id = _order_id()
    except InputError as exc:
        log.warning("review from the order widget refused: %s (%s)", exc.message, exc.code)
        return _refused(401 if isinstance(exc, DashboardTokenError) else 400, exc.message)
    decision_id = _field("decision_id")
    action = _field("action")
    try:
        if action not in ("approve", "decline"):
            raise InputError("choose approve or decline", code="bad_action")
        if not staff.can(widget.DECIDE_PERMISSION):
            raise widget.Forbidden(f"deciding a review needs {widget.DECIDE_PERMISSION} in "
                                   f"Saleor; {staff.email} does not have it")
        widget.check_form_token(str(current_app.config["SECRET_KEY"]), _field("form_token"),
                                staff, order_id, decision_id)
        outcome = widget.decide(
            _runtime().engine, _runtime().service, staff, order_id=order_id,
            decision_id=decision_id, approve=action == "approve",
            note=request.form.get("note", "")[:MAX_FIELD], now=_runtime().service.clock(),
        )
    except widget.Forbidden as exc:
        return _order_page(staff, order_id, 403, error=exc.message)
    except NotFound as exc:
        return _order_page(staff, order_id, 404, error=exc.message)
    except InputError as exc:
        status = 409 if isinstance(exc, ReviewClosed) else 400
        return _order_page(staff, order_id, status, error=exc.message)
    log.info("review %s %s from the Saleor Dashboard by %s", decision_id, outcome.status,
             staff.who, extra={"order_id": order_id})
    return _order_page(staff, order_id, done=f"{outcome.status.capitalize()}.")


def _origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def frame_ancestors(runtime: Runtime) -> str:
    cfg = runtime.config
    found = {o for u in (*cfg.saleor_allowed_api_urls, *cfg.saleor_dashboard_urls)
             if (o := _origin(u))}
    return " ".join(sorted(found)) or "'none'"


@bp.before_request
def _before() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.after_request
def _headers(resp: Response) -> Response:
    nonce = g.get("csp_nonce", "")
    # framed by the Dashboard (no X-Frame-Options, which cannot name an origin); forms only to us
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors(_runtime())}; base-uri 'none'"
    )
    resp.headers["Cache-Control"] = "no-store"  # the page holds the Dashboard's token
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def init_app(app: Flask) -> None:
    """Register after ``webhooks.saleor`` (the widget shares its JWKS cache and allow-list)."""
    app.register_blueprint(bp)
