"""Test-only fakes and a harness: the real app and runtime, a fake clock, a fake Stripe API.

``Harness`` builds the service exactly as production does (``bootstrap.build`` + ``create_app``)
against a migrated database and the in-repo Stripe fake, signs events for real, and reads the
ledger back so tests can assert exact rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, func, select
from werkzeug.test import TestResponse

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import Config, load_config
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.seal import settle
from refunds_plugin.ledger.tables import (
    decisions,
    events,
    ledger_entries,
    payments,
    provider_refunds,
    refund_attempts,
    reviews,
)
from webhooks import create_app, signatures

STOREFRONT_SECRET = "whsec_storefront_test"
STRIPE_SECRETS = ("whsec_new_test", "whsec_old_test")
MONEY_TABLES = (events, decisions, refund_attempts, ledger_entries)


@dataclass
class Clock:
    """A clock tests move by hand; the service, the executor and signatures all read it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = self.now + timedelta(seconds=seconds)

    def timestamp(self) -> float:
        return self.now.timestamp()


def order_paid(
    order_id: str = "1001",
    *,
    event_id: str | None = None,
    currency: str = "USD",
    lines: list[dict[str, Any]] | None = None,
    shipping: int = 500,
    total: int | None = None,
    reference: str = "pi_123",
    provider: str = "stripe",
    paid_at: str = "2026-11-01T10:00:00Z",
    customer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lines = lines if lines is not None else [
        {"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_amount": 2500,
         "tags": []}
    ]
    if total is None:
        total = sum(ln["quantity"] * ln["unit_amount"] for ln in lines) + shipping
    return {
        "id": event_id or f"evt_paid_{order_id}", "type": "order.paid", "created": 1764000000,
        "data": {"order": {
            "id": order_id, "currency": currency, "paid_at": paid_at,
            "customer": customer or {"id": "c-7", "email": "ann@example.com"},
            "lines": lines, "shipping_amount": shipping, "total_amount": total,
            "payment": {"provider": provider, "reference": reference},
        }},
    }


def return_requested(
    return_id: str = "r-1",
    order_id: str = "1001",
    *,
    event_id: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    preferred: str | None = "refund",
) -> dict[str, Any]:
    lines = lines if lines is not None else [
        {"line_id": "l1", "quantity": 1, "reason": "changed_mind"}
    ]
    return {
        "id": event_id or f"evt_ret_{return_id}", "type": "return.requested",
        "created": 1764000100,
        "data": {"return": {"id": return_id, "order_id": order_id, "lines": lines,
                            "preferred_resolution": preferred, "comment": "Too small"}},
    }


def stripe_event(event_id: str, type_: str, obj: dict[str, Any],
                 livemode: bool | None = None) -> dict[str, Any]:
    """A Stripe event of ``obj``; ``livemode`` (the mode Stripe sent it in) only when given."""
    event = {"id": event_id, "object": "event", "type": type_,
             "api_version": "2026-10-28.endive", "created": 1764000000, "data": {"object": obj}}
    return event if livemode is None else {**event, "livemode": livemode}


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode("utf-8")


@dataclass
class Harness:
    """One service under test: its runtime, its Flask app, a clock and the Stripe fake's URL."""

    db_url: str
    clock: Clock
    stripe_base: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    runtime: Runtime = field(init=False)
    app: Flask = field(init=False)

    def __post_init__(self) -> None:
        overrides: dict[str, Any] = {
            "database_url": self.db_url,
            "storefront_secret": STOREFRONT_SECRET,
            "stripe_webhook_secrets": STRIPE_SECRETS,
            "stripe_api_key": "sk_live_fake" if self.stripe_base else "",
            "stripe_api_base": self.stripe_base,
            # long enough for a loaded CI machine (a 1 s timeout once gave up on the
            # fake Stripe answering a plain refund); a test of a timeout hangs longer
            "stripe_timeout_s": 3.0,
            "stripe_max_network_retries": 0,
            "executor_backoff_base_s": 2.0,
            "testing": True,
        }
        overrides.update(self.settings)
        config: Config = load_config(env={}, overrides=overrides)
        self.runtime = build(config, clock=self.clock, with_executor=True)
        self.runtime.wall_clock = self.clock.timestamp
        self.app = create_app(runtime=self.runtime)

    # --- sending ------------------------------------------------------------------------------
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def post_storefront(
        self, payload: dict[str, Any] | bytes, *, client: FlaskClient | None = None,
        timestamp: int | None = None, secret: str = STOREFRONT_SECRET,
        body: bytes | None = None,
    ) -> TestResponse:
        raw = payload if isinstance(payload, bytes) else dumps(payload)
        ts = int(self.clock.timestamp()) if timestamp is None else timestamp
        header = signatures.sign(secret, raw, ts)
        return (client or self.client()).post(
            "/webhooks/storefront", data=raw if body is None else body,
            headers={"Refunds-Signature": header, "Content-Type": "application/json"},
        )

    def post_stripe(
        self, payload: dict[str, Any], *, secret: str = STRIPE_SECRETS[0],
        timestamp: int | None = None, client: FlaskClient | None = None,
    ) -> TestResponse:
        text = json.dumps(payload)
        ts = int(self.clock.timestamp()) if timestamp is None else timestamp
        header = stripe.WebhookSignature.generate_signature_header(text, secret, ts)
        return (client or self.client()).post(
            "/webhooks/stripe", data=text.encode("utf-8"),
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def drain(self) -> None:
        assert self.runtime.executor is not None
        self.runtime.executor.drain()

    # --- reading the ledger -------------------------------------------------------------------
    def rows(self, table: Table, **where: Any) -> list[Any]:
        query = select(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(query).all())

    def count(self, table: Table) -> int:
        with self.runtime.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def money_rows(self) -> dict[str, int]:
        return {t.name: self.count(t) for t in MONEY_TABLES}

    def chain_problem(self) -> chain.ChainProblem | None:
        """The chain's first problem once every committed entry is sealed (on PostgreSQL a
        writer is answered before its process's background sealer chains its entries)."""
        assert settle(self.runtime.engine), "the journal's entries were not sealed in time"
        le = ledger_entries.c
        with self.runtime.engine.connect() as conn:
            rows = conn.execute(
                select(le.seq, le.entry_type, le.subject_id, le.body, le.prev_hash, le.hash)
                .order_by(le.seq)
            ).all()
        return chain.verify([tuple(r) for r in rows])

    def close(self) -> None:
        if self.runtime.executor is not None and self.runtime.executor._thread is not None:
            self.runtime.executor.stop(5)
        self.runtime.engine.dispose()


__all__ = [
    "Clock", "Harness", "STOREFRONT_SECRET", "STRIPE_SECRETS", "dumps", "order_paid",
    "payments", "provider_refunds", "return_requested", "reviews", "stripe_event",
]
