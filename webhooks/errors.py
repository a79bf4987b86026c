"""JSON error answers: ``{"error": {"code", "message"}}`` and never a redirect."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from refunds_plugin.errors import Conflict, InputError, NotFound, RefundsError

log = logging.getLogger("refunds.web")


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    body: dict[str, object] = {"code": code, "message": message}
    body.update(extra)
    resp = jsonify({"error": body})
    resp.status_code = status
    return resp


def flatten(messages: object, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as ``path: what was wrong`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{prefix}: {' '.join(messages)}"]
        out = []
        for value in messages:
            out.extend(flatten(value, prefix))
        return out
    return [f"{prefix}: {messages}"]


def http_error(exc: HTTPException) -> Response:
    """Werkzeug's refusal (404, 405, 429, …) in the contract's JSON, with its headers."""
    code = (exc.name or "error").lower().replace(" ", "_")
    resp = error_response(exc.code or 500, code, exc.description or code)
    for name, value in exc.get_headers():  # a 405's Allow, a 429's Retry-After
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


def register(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        problems = flatten(exc.messages)
        return error_response(400, "invalid_payload", "; ".join(problems), fields=problems)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error_response(404, exc.code, exc.message)

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error_response(409, exc.code, exc.message)

    @app.errorhandler(InputError)
    def _input(exc: InputError) -> Response:
        return error_response(400, exc.code, exc.message)

    @app.errorhandler(RefundsError)
    def _refunds(exc: RefundsError) -> Response:
        log.error("could not handle request: %s", exc.message)
        return error_response(503, exc.code, exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, "body_too_large", f"request body is over {limit} bytes")

    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(
            500, "internal_error", "the event could not be recorded; please retry"
        )
