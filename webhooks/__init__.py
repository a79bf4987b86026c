"""The Flask app: ``create_app(config)`` builds everything; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import Config, load_config
from refunds_plugin.ledger.instance import engine_secret
from refunds_plugin.ledger.migrate import LedgerRevisionError, revision_refusal
from webhooks import (
    body_limit,
    easypost,
    errors,
    finance,
    health,
    language,
    metrics,
    not_found,
    request_text,
    returns,
    saleor,
    saleor_widget,
    security,
    storefront,
    stripe,
)


def create_app(
    config: Config | Mapping[str, Any] | None = None,
    *,
    runtime: Runtime | None = None,
    start_executor: bool = False,
) -> Flask:
    """Create the receiver. ``config`` may be a Config or overrides on top of the environment.

    ``start_executor`` starts the in-process executor thread (``refunds serve`` does; tests
    drive the executor themselves). Built here, on a ledger another version left, it raises
    ``LedgerRevisionError`` with the CLI's line (``refunds migrate`` first) and writes nothing.
    """
    if runtime is None:
        cfg = config if isinstance(config, Config) else load_config(overrides=config or None)
        runtime = build(cfg)  # an empty database is migrated, as ``refunds serve`` does
        # gunicorn run directly: a ledger another version left is refused as the CLI refuses
        # it, before anything is written (the kept key below) or served
        refusal = revision_refusal(runtime.engine)
        if refusal is not None:
            runtime.engine.dispose()
            logging.getLogger("refunds.web").critical("refusing to start: %s", refusal)
            raise LedgerRevisionError(refusal)
    app = Flask(__name__)
    app.request_class = body_limit.LimitedRequest  # 413 for a chunked body over the limit
    app.config["MAX_CONTENT_LENGTH"] = runtime.config.max_body_bytes
    # unset (gunicorn run directly, not `refunds serve`): the key kept in the database, so
    # status links and sessions survive restarts and are shared by every worker and host
    app.config["SECRET_KEY"] = runtime.config.secret_key or engine_secret(
        runtime.engine, logging.getLogger("refunds.web").warning)
    app.config["TESTING"] = runtime.config.testing
    app.extensions["refunds"] = runtime
    if runtime.config.trusted_proxies:
        # behind a load balancer: take the client address (rate limits) from X-Forwarded-For
        n = runtime.config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    logging.getLogger("refunds").setLevel(runtime.config.log_level.upper())

    errors.register(app)
    security.init_app(app, runtime.config)
    request_text.init_app(app)
    language.init_app(app, runtime.config.default_locale)
    app.register_blueprint(health.bp)
    app.register_blueprint(stripe.bp)
    app.register_blueprint(storefront.bp)
    app.register_blueprint(easypost.bp)
    saleor.init_app(app)
    saleor_widget.init_app(app)
    finance.init_app(app)
    returns.init_app(app)
    metrics.init_app(app)
    not_found.init_app(app)
    if start_executor and runtime.executor is not None:
        runtime.executor.start()
    return app
