"""A shop for the returns page tests: the real runtime and app, orders seeded through the real,
signed storefront endpoint, and the ledger read back row by row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import Table, func, select

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import load_config
from refunds_plugin.ledger.seal import settle
from refunds_plugin.ledger.tables import decisions, events, ledger_entries, refund_attempts, reviews
from webhooks import create_app, signatures

SECRET = "whsec_returns_page_test"
EMAIL = "Ann.Lee@Example.com"
TABLES = (events, decisions, refund_attempts, reviews, ledger_entries)


KOELN = {"name": "Anna Schmidt", "street": "Hauptstr. 1", "city": "Köln", "postal_code": "50667",
         "country": "DE"}


def order_event(
    order_id: str = "1001",
    *,
    delivered_at: str = "2026-11-04T15:00:00Z",
    paid_at: str = "2026-11-01T10:00:00Z",
    lines: list[dict[str, Any]] | None = None,
    shipping: int = 500,
    email: str = EMAIL,
    shipping_address: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An ``order.paid`` of two mugs and a shirt; ``shipping_address`` (e.g. ``KOELN``: an EU
    customer, who is offered the withdrawal function) when given."""
    lines = lines if lines is not None else [
        {"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2,
         "unit_amount": 2500},
        {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000},
    ]
    total = sum(ln["quantity"] * ln["unit_amount"] for ln in lines) + shipping
    where = {"shipping_address": shipping_address} if shipping_address else {}
    return {
        "id": f"evt_paid_{order_id}", "type": "order.paid", "created": 1764000000,
        "data": {"order": {
            "id": order_id, "currency": "USD", "paid_at": paid_at, "delivered_at": delivered_at,
            "customer": {"id": "c-7", "email": email}, "lines": lines,
            "shipping_amount": shipping, "total_amount": total,
            "payment": {"provider": "stripe", "reference": f"pi_{order_id}"}, **where,
        }},
    }


def with_stripe(api_base: str) -> dict[str, Any]:
    """Settings for a shop whose refunds go to the Stripe fake at ``api_base`` (not dry run)."""
    return {"stripe_api_key": "sk_live_fake", "stripe_api_base": api_base,
            "stripe_webhook_secrets": ("whsec_returns_stripe",), "stripe_timeout_s": 3.0,
            "stripe_max_network_retries": 0}


@dataclass
class ReturnsShop:
    db_url: str
    clock: Callable[[], datetime]
    settings: dict[str, Any] = field(default_factory=dict)
    runtime: Runtime = field(init=False)
    app: Flask = field(init=False)

    def __post_init__(self) -> None:
        overrides = {"database_url": self.db_url, "storefront_secret": SECRET,
                     "secret_key": "returns-page-test-key", "shop_name": "Harbour & Co",
                     "testing": True, **self.settings}
        config = load_config(env={}, overrides=overrides)
        self.runtime = build(config, clock=self.clock, with_executor=True, answer_wait_s=0.0)
        self.runtime.wall_clock = lambda: self.clock().timestamp()
        self.app = create_app(runtime=self.runtime)

    def seed(self, event: dict[str, Any]) -> None:
        body = json.dumps(event).encode()
        header = signatures.sign(SECRET, body, int(self.clock().timestamp()))
        resp = self.app.test_client().post(
            "/webhooks/storefront", data=body,
            headers={"Refunds-Signature": header, "Content-Type": "application/json"})
        assert resp.status_code == 200, resp.get_data(as_text=True)

    def drain(self) -> None:
        assert self.runtime.executor is not None
        self.runtime.executor.drain()

    def rows(self, table: Table) -> list[tuple[Any, ...]]:
        with self.runtime.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(table)).all()]

    def counts(self) -> dict[str, int]:
        with self.runtime.engine.connect() as conn:
            return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in TABLES}

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, once the background sealer has sealed what was committed (on
        PostgreSQL it seals after the answer: a later snapshot would otherwise differ by it)."""
        settle(self.runtime.engine)
        return {t.name: self.rows(t) for t in TABLES}

    def close(self) -> None:
        self.runtime.engine.dispose()
