"""``GET /healthz``: is the database reachable, how far behind is the executor, and which
providers move money."""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select

from refunds_plugin.config import money_modes
from refunds_plugin.ledger.tables import refund_attempts

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = current_app.extensions["refunds"]
    try:
        with runtime.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(refund_attempts.c.created_at)).where(
                    refund_attempts.c.status.in_(("pending", "in_progress"))
                )
            ).one()
    except Exception as exc:  # report, don't raise: this is what operators poll
        return jsonify(
            {"status": "error", "database": "unreachable", "error": type(exc).__name__}
        ), 503
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (runtime.service.clock() - oldest).total_seconds())
    return jsonify(
        {
            "status": "ok",
            "database": "ok",
            "policy": {"name": runtime.policy.name, "hash": runtime.policy.content_hash},
            "dry_run": runtime.config.dry_run,  # Stripe's mode, kept for existing probes
            "money": money_modes(runtime.config),  # per provider: live | dry_run | off
            "executor": {
                "running_here": runtime.executor is not None,
                "backlog": int(count),
                "oldest_pending_age_s": round(age, 3),
            },
        }
    ), 200
