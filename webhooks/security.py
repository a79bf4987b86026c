"""What every answer and every form gets, whoever writes the view: security headers (and
``Cache-Control: no-store`` on the finance, API and returns answers), the session cookie's
flags, and CSRF (Flask-WTF's ``CSRFProtect``).

Registered once on the app by ``create_app``, so a page, form or API added later is covered
without asking. A view may set its own ``Content-Security-Policy`` (the Saleor widget names
the Dashboard that frames it); everything else is only filled in where missing.

CSRF: every POST/PUT/PATCH/DELETE carries the session's token in the ``csrf_token`` field
(templates call ``csrf_token()``), except requests that cannot come from a browser's form:
signed webhooks (``/webhooks/…``), the Saleor app's own endpoints (``/saleor/…``: token
exchange, and the Dashboard widget, which proves itself with the Dashboard's token and a
signed form token, without a cookie), and JSON APIs called with an ``Authorization`` header
(``/api/…``; a browser never adds that header to a cross-site form).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from limits.errors import ConfigurationError
from limits.storage import SCHEMES, storage_from_string

from refunds_plugin.config import Config, ConfigError

# no script at all; styles and images from this origin only (the returns page's logo may be
# any https URL); forms post only here; no page may be framed, nor change its base URL
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
# Signed webhooks, bearer-token APIs, and the feedback question's signed link (the link itself,
# sent to one customer and possibly opened from an email with no session, is the proof).
NOT_FROM_A_FORM = ("/webhooks/", "/saleor/", "/api/", "/returns/feedback/")
# answers about one shop's money or one customer's order: no browser or proxy keeps a copy
# (the finance pages, exports and API; the customer's returns pages). Their static files
# (``<blueprint>.static``) may be cached.
PRIVATE = ("/finance", "/api/", "/returns")


def _headers_for(config: Config) -> Callable[[Response], Response]:
    def add(resp: Response) -> Response:
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: links with tokens (returns status links) never leave the site, and
        # CSRFProtect can still check the Referer of a form posted over HTTPS
        h.setdefault("Referrer-Policy", "same-origin")
        if "frame-ancestors 'none'" in h.get("Content-Security-Policy", ""):
            h.setdefault("X-Frame-Options", "DENY")  # for browsers without CSP level 2
        if config.behind_https:
            h.setdefault("Strict-Transport-Security", HSTS)
        endpoint = request.endpoint or ""
        if request.path.startswith(PRIVATE) and not (
                endpoint == "static" or endpoint.endswith(".static")):
            h.setdefault("Cache-Control", "no-store")
        if resp.status_code not in (429, 503):  # the limiter adds it to every limited answer
            h.pop("Retry-After", None)
        elif resp.status_code == 429 and "retry_after" in g:  # the wait the view gave
            h["Retry-After"] = str(g.retry_after)
        return resp

    return add


def retry_after(seconds: int) -> None:
    """This request's 429 waits ``seconds``: its ``Retry-After`` says so. The limiter writes the
    wait of the limit on the view on every limited answer (or a later one), even when a limit
    the view checked itself refused it (``returns.lookup_limits``)."""
    g.retry_after = seconds


def needs_csrf() -> bool:
    """Whether this request must carry the session's CSRF token."""
    if request.path.startswith(NOT_FROM_A_FORM):
        return False
    return "Authorization" not in request.headers


def init_app(app: Flask, config: Config) -> CSRFProtect:
    """Cookies, CSRF, headers; and the one rate limiter every area counts in
    (``app.extensions["limiter"]``, storage ``REFUNDS_RATELIMIT_STORAGE_URI``)."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    # set, not setdefault: Flask's own default (None) is already in app.config
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = config.behind_https
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below, with our exemptions
    app.config["WTF_CSRF_FIELD_NAME"] = "csrf_token"
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # as long as the session: pages stay open for hours
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf() -> None:
        if needs_csrf():
            csrf.protect()

    app.after_request(_headers_for(config))
    check_storage(config.ratelimit_storage_uri)
    limiter = app.extensions["limiter"] = Limiter(
        get_remote_address, app=app, storage_uri=config.ratelimit_storage_uri,
        key_prefix="returns", headers_enabled=True, in_memory_fallback_enabled=True,
    )
    # no limit is set on the signed webhooks (their senders retry what is refused), so the
    # limiter does not look for one on every event
    limiter.request_filter(_signed_webhook)
    return csrf


# the package each kind of store's client comes from, and how a merchant installs it
_CLIENTS = {"redis": ("redis", 'pip install -e ".[redis]"'),
            "rediss": ("redis", 'pip install -e ".[redis]"'),
            "valkey": ("valkey", "pip install valkey"), "valkeys": ("valkey", "pip install valkey"),
            "memcached": ("pymemcache", "pip install pymemcache"),
            "mongodb": ("pymongo", "pip install pymongo")}
_STORES = "memory:// (one process) or redis://host:6379 (shared by every worker and host)"


def check_storage(uri: str) -> None:
    """``REFUNDS_RATELIMIT_STORAGE_URI`` as the limiter will open it, or a ``ConfigError`` in
    one line with the fix: a store the limiter does not know, or one whose client package is
    not installed (``redis://`` needs ``redis``), said before any worker starts rather than as
    a traceback from each. Nothing is connected to: a store that is down is the limiter's to
    ride out (it counts in memory meanwhile)."""
    parts = urlsplit(uri)
    shown = uri.replace(f":{parts.password}@", ":***@", 1) if parts.password else uri
    var = f"REFUNDS_RATELIMIT_STORAGE_URI={shown!r}"
    if parts.scheme not in SCHEMES or parts.scheme.startswith("async+"):
        raise ConfigError(f"{var} is not a store the rate limiter knows: use {_STORES}")
    if parts.scheme == "memory":  # nothing to open (and no expiry timer thread to start)
        return
    package, fix = _CLIENTS.get(parts.scheme.split("+")[0], ("", ""))
    try:
        storage_from_string(uri)
    except ConfigurationError as exc:  # limits names the package it could not import
        if package and f"'{package}'" in str(exc):
            raise ConfigError(f"{var} needs the Python package {package}, which is not "
                              f"installed: {fix}") from None
        raise ConfigError(f"{var} cannot be used: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{var} cannot be used: {exc}") from None


def limits_warning(storage_uri: str, workers: int) -> str | None:
    """Said when ``refunds serve`` starts several workers that would each count the rate
    limits on their own (a security review measured 3 times each limit through 4 workers)."""
    if workers < 2 or not storage_uri.startswith("memory://"):
        return None
    return (f"rate limits: REFUNDS_RATELIMIT_STORAGE_URI is memory://, so each of the {workers} "
            f"workers counts on its own and a client may get up to {workers} times each limit "
            "(returns look-ups, finance log-ins): set it to a store they share, e.g. "
            "redis://127.0.0.1:6379")


def _signed_webhook() -> bool:
    return request.path.startswith("/webhooks/")
