"""Finance pages and the finance API (blueprints ``finance`` and ``finance_api``), and the
warehouse's receiving page and API (``finance_receiving``, ``returns_api``)."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from webhooks.finance import api, insights, outbox_page, pages, receiving, tokens_page

log = logging.getLogger("refunds.finance")


def init_app(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning(
            "REFUNDS_SECRET_KEY is not set: finance sessions use a random key for this process "
            "only (they end on restart and do not work across several processes)"
        )
    app.register_blueprint(pages.bp)
    app.register_blueprint(tokens_page.bp)
    app.register_blueprint(outbox_page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(receiving.bp)
    app.register_blueprint(receiving.api_bp)
    app.register_blueprint(insights.bp)
    app.register_blueprint(insights.api_bp)
