"""``GET /healthz``: is the database reachable, and how far behind is the executor."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select

from refunds_plugin.domain import WAITING
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import refund_attempts

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = current_app.extensions["refunds"]
    try:
        with runtime.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(refund_attempts.c.created_at)).where(
                    refund_attempts.c.status.in_(WAITING)
                )
            ).one()
    except Exception as exc:  # report, don't raise: this is what operators poll
        return jsonify(
            {"status": "error", "database": "unreachable", "error": type(exc).__name__}
        ), 503
    age = 0.0
    if oldest is not None:
        oldest = aware(oldest)
        age = max(0.0, (runtime.service.clock() - oldest).total_seconds())
    return jsonify(
        {
            "status": "ok",
            "database": "ok",
            "policy": {"name": runtime.policy.name, "hash": runtime.policy.content_hash},
            "dry_run": runtime.config.dry_run,
            "executor": {
                "running_here": runtime.executor is not None,
                "backlog": int(count),
                "oldest_pending_age_s": round(age, 3),
            },
        }
    ), 200
