"""``GET /healthz``: is the database reachable, how far behind is the executor, and which
providers move money. ``GET /``, the address the start-up banner names, leads to the returns
page; ``GET /favicon.ico`` is an empty answer, so browsers log no error on every page."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from refunds_plugin.ledger.attempt_reads import backlog
from refunds_plugin.routing import money_modes, no_money_moves, service_mode

bp = Blueprint("health", __name__)


@bp.get("/")
def root() -> WerkzeugResponse:
    return redirect(url_for("returns.lookup"))


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = current_app.extensions["refunds"]
    try:
        count, oldest = backlog(runtime.engine)
    except Exception as exc:  # report, don't raise: this is what operators poll
        return jsonify(
            {"status": "error", "database": "unreachable", "error": type(exc).__name__}
        ), 503
    age = 0.0
    if oldest is not None:
        age = max(0.0, (runtime.service.clock() - oldest).total_seconds())
    return jsonify(
        {
            "status": "ok",
            "database": "ok",
            "policy": {"name": runtime.policy.name, "hash": runtime.policy.content_hash},
            # true only when no provider moves real money (a Stripe test key moves none)
            "dry_run": no_money_moves(runtime.config),
            "mode": service_mode(runtime.config),  # live | test (no real money) | dry_run
            "money": money_modes(runtime.config),  # per provider: live | test | dry_run | off
            "executor": {
                "running_here": runtime.executor is not None,
                "backlog": int(count),
                "oldest_pending_age_s": round(age, 3),
            },
        }
    ), 200
