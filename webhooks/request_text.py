"""Text in an address or a form that no row can hold, refused before any view reads it.

A NUL (``%00``) cannot be sent to PostgreSQL at all (SQLite would just find nothing), so a
lookup by it must not reach the database: an id in the path with a NUL or another control
character is no id we ever gave out (404); a query parameter, or a form field outside the
returns page, holding a NUL is a 400 naming it (``invalid_parameter``; the finance pages show it
as a page). The returns page checks its own forms, to re-show them in the customer's language.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request

from refunds_plugin.errors import InputError
from refunds_plugin.ledger import text
from webhooks.finance.pages import refused

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# bodies a signature covers: reading them as a form would leave nothing to verify
RAW_BODIES = ("/webhooks/", "/saleor/register")


def _check() -> Response | None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and text.problem(value, is_id=True):
            abort(404)
    returns = request.blueprint == "returns"
    sources = [request.args]
    if request.mimetype in FORMS and not returns and not request.path.startswith(RAW_BODIES):
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            if text.NUL in name or text.NUL in value:
                if returns:  # its own page, in the customer's language
                    abort(400)
                refusal = f"{text.escaped(name)}: {text.problem(text.NUL)}"
                if request.path.startswith("/finance"):  # a page, as its other refusals
                    return refused(400, refusal)
                raise InputError(refusal, code="invalid_parameter")
    return None


def init_app(app: Flask) -> None:
    app.before_request(_check)
