"""The real app wired for a Saleor shop: signed Saleor webhooks and storefront return requests
in, the executor paying out through ``SaleorProvider`` against ``FakeSaleor``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from refunds_plugin.bootstrap import build
from refunds_plugin.config import Config
from refunds_plugin.execution.executor import Executor
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import events, ledger_entries, refund_attempts
from refunds_plugin.providers.dryrun import DryRunProvider
from refunds_plugin.providers.saleor.provider import SaleorProvider
from tests.fakes.saleor_api import API_URL, TOKEN, FakeSaleor
from webhooks import create_app, signatures

STOREFRONT_SECRET = "whsec_saleor_storefront"


class SaleorHarness:
    def __init__(
        self, db_url: str, clock: Callable[[], datetime], saleor: FakeSaleor, **config: Any
    ) -> None:
        settings: dict[str, Any] = {
            "database_url": db_url,
            "storefront_secret": STOREFRONT_SECRET,
            "saleor_allowed_api_urls": (API_URL,),
            # shop.example.com is answered by `responses`, never resolved (saleor.egress)
            "saleor_allow_private_addresses": True,
            "run_executor": False,
            "testing": True,
            **config,
        }
        self.engine = make_engine(db_url)
        self.saleor = saleor
        self.provider = SaleorProvider(self.engine)
        providers: dict[str, Any] = {"dryrun": DryRunProvider(), "saleor": self.provider}
        self.runtime = build(
            Config(**settings), engine=self.engine, providers=providers, clock=clock,
            with_executor=False,
        )
        self.app = create_app(runtime=self.runtime)
        self.client: FlaskClient = self.app.test_client()
        self.executor = Executor(self.engine, providers, self.runtime.config, clock)
        self._n = 0

    def close(self) -> None:
        self.engine.dispose()

    def install(self, token: str = TOKEN) -> TestResponse:
        return self.client.post(
            "/saleor/register", json={"auth_token": token}, headers={"Saleor-Api-Url": API_URL}
        )

    def webhook(
        self,
        event: str,
        order_id: str,
        *,
        principal: dict[str, Any] | None = None,
        signature: str | None = None,
        body: bytes | None = None,
        api_url: str = API_URL,
    ) -> TestResponse:
        payload = {
            "__typename": "".join(p.title() for p in event.split("_")),
            "issuedAt": "2026-11-24T12:00:00+00:00",
            "version": "3.20.119",
            "issuingPrincipal": principal,
            "order": {"id": order_id, "number": "1001", "updatedAt": "2026-11-24T12:00:00+00:00"},
        }
        raw = body if body is not None else json.dumps(payload).encode()
        headers = {
            "Saleor-Event": event.lower(),
            "Saleor-Api-Url": api_url,
            "Saleor-Domain": "shop.example.com",
            "Content-Type": "application/json",
        }
        sig = signature if signature is not None else self.saleor.signed(raw)
        if sig:
            headers["Saleor-Signature"] = sig
        return self.client.post("/webhooks/saleor", data=raw, headers=headers)

    def return_request(
        self, order_id: str, lines: list[tuple[str, int, str]], preferred: str | None = None
    ) -> TestResponse:
        self._n += 1
        data: dict[str, Any] = {"return": {
            "id": f"ret_{self._n}", "order_id": order_id,
            "lines": [{"line_id": lid, "quantity": q, "reason": r} for lid, q, r in lines],
        }}
        if preferred:
            data["return"]["preferred_resolution"] = preferred
        body = json.dumps({"id": f"sf_evt_{self._n}", "type": "return.requested",
                           "data": data}).encode()
        return self.client.post(
            "/webhooks/storefront", data=body,
            headers={"Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
                     "Content-Type": "application/json"},
        )

    # --- reading the ledger -------------------------------------------------------------------
    def event_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def attempts(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(refund_attempts).order_by(refund_attempts.c.seq)))


def rows(shop: SaleorHarness, table: Any) -> list[Any]:
    """Every row of ``table`` in the shop's ledger."""
    with shop.engine.connect() as conn:
        return list(conn.execute(select(table)))


def journal(shop: SaleorHarness, subject: str) -> list[dict[str, Any]]:
    """The bodies of ``subject``'s journal entries, oldest first."""
    le = ledger_entries.c
    with shop.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(
            select(le.body).where(le.subject_id == subject).order_by(le.seq)).scalars()]
