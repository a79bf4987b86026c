"""``/finance/tokens``: admins list the tokens, make one (shown once, with an expiry) and revoke
one. Admin role only; every form carries the session's CSRF token; each change is logged with
who made it (the token table itself keeps when each was made and revoked).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, request
from flask_wtf.csrf import CSRFError

from refunds_plugin.errors import InputError
from refunds_plugin.finance.tokens import create_token, list_tokens, parse_expiry, revoke_token
from webhooks.finance.pages import expired_form, needs, page, refused
from webhooks.finance.session import now, runtime

bp = Blueprint("finance_tokens", __name__, url_prefix="/finance/tokens")
log = logging.getLogger("refunds.finance")
bp.register_error_handler(CSRFError, expired_form)


def _listing(status: int = 200, **context: Any) -> Response:
    at = now()
    shown = [{**t.to_json(at), "info": t} for t in list_tokens(runtime().engine)]
    return page(status, "tokens.html", tokens=shown, **context)


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


@bp.post("/<int:token_id>/revoke")
@needs("admin")
def revoke(token_id: int) -> Response:
    back = (f"{request.script_root}/finance/tokens/", "Back to the tokens")
    try:
        info = revoke_token(runtime().engine, token_id, now())
    except InputError as exc:
        return refused(404, f"Nothing was revoked: {exc.message}.", back)
    log.info("token revoked", extra={"token_id": token_id, "by": g.principal.token_id})
    return _listing(200, revoked=info)
