"""A 404 for an address nothing answers: a page for a person's browser, JSON for programs.

``/api/*`` and ``/webhooks/*`` always answer the HTTP contract's ``{"error": {"code",
"message"}}``, as does any client that does not prefer HTML to JSON. A browser gets a page: the
returns' own, in the reader's language, under ``/returns``; the finance one, leading back to
``/finance``, anywhere else. The address asked for is not repeated on the page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for
from werkzeug.exceptions import NotFound

from webhooks.errors import http_error
from webhooks.finance.pages import refused
from webhooks.returns.views import page_missing

JSON_ONLY = ("/api/", "/webhooks/")


def wants_html() -> bool:
    """A browser: HTML preferred to JSON, on an address that is not the JSON contract's."""
    if f"{request.path}/".startswith(JSON_ONLY):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def not_found(exc: NotFound) -> Any:
    if not wants_html():
        return http_error(exc)
    if f"{request.path}/".startswith("/returns/"):
        return page_missing()
    where = "finance page" if f"{request.path}/".startswith("/finance/") else "page"
    return refused(404, f"There is no {where} at this address.",
                   (url_for("finance.decisions_page"), "Back to the finance pages"))


def init_app(app: Flask) -> None:
    app.register_error_handler(404, not_found)
