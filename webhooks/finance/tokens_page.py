"""``/finance/tokens``: admins list the tokens, make one (shown once, with an expiry) and revoke
one, after a confirmation naming it and what happens (logging out, when it is one's own; never
the last admin token). Admin role only; every form carries the session's CSRF token; each change
is logged with who made it (the token table itself keeps when each was made and revoked).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError

from refunds_plugin.errors import InputError
from refunds_plugin.finance import sessions
from refunds_plugin.finance.tokens import (
    LastAdmin,
    TokenInfo,
    create_token,
    is_last_admin,
    last_admin,
    list_tokens,
    parse_expiry,
    revoke_token,
    sole_admin,
)
from webhooks.finance.pages import expired_form, needs, page, refused
from webhooks.finance.session import now, runtime

bp = Blueprint("finance_tokens", __name__, url_prefix="/finance/tokens")
log = logging.getLogger("refunds.finance")
bp.register_error_handler(CSRFError, expired_form)


def _listing(status: int = 200, **context: Any) -> Response:
    at = now()
    engine = runtime().engine
    sole = sole_admin(engine, at)  # the one live admin token is offered no revoke: it is refused
    shown = [{**t.to_json(at), "info": t, "last_admin": t.token_id == sole}
             for t in list_tokens(engine)]
    return page(status, "tokens.html", tokens=shown, **context)


def _back() -> tuple[str, str]:
    return url_for("finance_tokens.tokens_page"), "Back to the tokens"


@bp.get("/")
@needs("admin")
def tokens_page() -> Response:
    return _listing()


@bp.post("/")
@needs("admin")
def make_token() -> Response:
    back = (request.path, "Back to the tokens")
    expiry = request.form.get("expires_in", "").strip()
    try:
        lasts = parse_expiry(expiry) if expiry else None
        made = create_token(runtime().engine, request.form.get("name", ""),
                            request.form.get("role", ""), now(), expires_in=lasts)
    except InputError as exc:
        return refused(400, f"Nothing was made: {exc.message}.", back)
    log.info("token created", extra={"token_id": made.principal.token_id,
                                     "role": made.principal.role, "by": g.principal.token_id})
    return _listing(201, made=made)


def _revocable(token_id: int) -> TokenInfo | Response:
    """The token to revoke, or the refusal: unknown (404), no longer active or the last live
    admin token (409)."""
    at, engine = now(), runtime().engine
    info = next((t for t in list_tokens(engine) if t.token_id == token_id), None)
    if info is None:
        return refused(404, f"There is no token #{token_id}.", _back())
    if info.state(at) != "active":
        return refused(409, f"Token #{token_id} ({info.name}) is already {info.state(at)}: "
                            f"there is nothing to revoke.", _back())
    if info.role == "admin" and is_last_admin(engine, token_id, at):
        return refused(409, f"Nothing was revoked: {last_admin(token_id, info.name).message}.",
                       _back())
    return info


@bp.get("/<int:token_id>/revoke")
@needs("admin")
def confirm_revoke(token_id: int) -> Response:
    found = _revocable(token_id)
    if isinstance(found, Response):
        return found
    return page(200, "token_revoke.html", t=found, own=token_id == g.principal.token_id)


@bp.post("/<int:token_id>/revoke")
@needs("admin")
def revoke(token_id: int) -> Any:
    """Only a confirmed form (``confirm=yes``, from the confirmation page) revokes; any other
    post leads to the confirmation."""
    if request.form.get("confirm") != "yes":
        return redirect(url_for("finance_tokens.confirm_revoke", token_id=token_id), code=303)
    try:
        info = revoke_token(runtime().engine, token_id, now(), keep_an_admin=True)
    except LastAdmin as exc:
        return refused(409, f"Nothing was revoked: {exc.message}.", _back())
    except InputError as exc:
        return refused(404, f"Nothing was revoked: {exc.message}.", _back())
    log.info("token revoked", extra={"token_id": token_id, "by": g.principal.token_id})
    if token_id != g.principal.token_id:
        return _listing(200, revoked=info)
    sessions.end_session(runtime().engine, session.get("sid"))
    session.clear()
    g.principal = None  # the page after is a logged-out one
    return page(200, "token_revoke.html", t=info, own=True, done=True)
