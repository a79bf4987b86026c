"""A storefront for finance tests: it sends signed ``order.paid`` / ``return.requested`` events
to a real app over the real service path, and pays out through the executor (dry-run provider).
After each step it waits for the background sealer (``ledger.seal.settle``, PostgreSQL), as a
person reading the ledger a moment later would find the entries sealed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import Config
from refunds_plugin.execution.executor import Executor
from refunds_plugin.ledger.seal import settle
from webhooks import create_app, signatures

SECRET = "whsec_shop_test_secret"


class Shop:
    def __init__(self, db_url: str, now: datetime, **config: Any) -> None:
        self.now = now
        settings: dict[str, Any] = {
            "database_url": db_url,
            "storefront_secret": SECRET,
            "run_executor": False,
            "testing": True,
            "secret_key": "test-secret-key",
            **config,
        }
        self.runtime: Runtime = build(Config(**settings), clock=lambda: self.now)
        self.app: Flask = create_app(runtime=self.runtime)
        self.client: FlaskClient = self.app.test_client()
        self.executor = Executor(
            self.runtime.engine, self.runtime.providers, self.runtime.config, lambda: self.now
        )
        self._n = 0

    def send(self, type_: str, data: Mapping[str, Any], *, settled: bool = True
             ) -> dict[str, Any]:
        self._n += 1
        body = json.dumps({"id": f"evt_{self._n}", "type": type_, "data": data}).encode()
        resp = self.client.post(
            "/webhooks/storefront",
            data=body,
            headers={"Refunds-Signature": signatures.sign(SECRET, body),
                     "Content-Type": "application/json"},
        )
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)
        if settled:  # the sealer's few ms: what the tests read next is sealed
            settle(self.runtime.engine)
        return dict(resp.get_json())

    def order(self, order_id: str, amount: int, email: str, *, currency: str = "EUR",
              paid_days_ago: int = 3) -> None:
        paid = (self.now - timedelta(days=paid_days_ago)).isoformat()
        self.send("order.paid", {"order": {
            "id": order_id, "currency": currency, "paid_at": paid, "delivered_at": paid,
            "customer": {"id": f"cus_{email.split('@')[0]}", "email": email},
            "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                       "unit_amount": amount}],
            "shipping_amount": 0, "total_amount": amount,
            "payment": {"provider": "stripe", "reference": f"pay_{order_id}",
                        "amount": amount},
        }})

    def ask_return(self, order_id: str, request_id: str, *, days_ago: int = 0,
                   reason: str = "changed_mind", settled: bool = True) -> dict[str, Any]:
        return self.send("return.requested", {"return": {
            "id": request_id, "order_id": order_id,
            "lines": [{"line_id": "l1", "quantity": 1, "reason": reason}],
            "requested_at": (self.now - timedelta(days=days_ago)).isoformat(),
        }}, settled=settled)

    def pay_out(self, after: timedelta = timedelta(hours=2)) -> None:
        """Time passes, then the executor carries out whatever is due."""
        self.now = self.now + after
        self.executor.drain()
        settle(self.runtime.engine)
