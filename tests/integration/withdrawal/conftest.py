"""A shop in the EU with the withdrawal function on: emails through the real SMTP server
(aiosmtpd), money through the Stripe fake, labels through the EasyPost fake, and a policy meaner
than the law (short window, fees, credit first, shipping kept, money held to inspection), so the
tests can show the withdrawal gets the law's terms whatever the policy says."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import ledger_entries, outbox, refund_attempts, withdrawals
from tests.fakes import Clock, Harness, order_paid
from tests.fakes.easypost_api import FakeEasyPostServer
from tests.fakes.returns_client import field
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripeServer
from tests.integration.shipping.conftest import EASYPOST_SECRET, easypost_server

__all__ = ["easypost_server"]

WAREHOUSE = ReturnAddress("Lager", "Lagerweg 2", "Berlin", "10115", "DE")
ANNA = {"name": "Anna Schmidt", "street": "Hauptstr. 1", "city": "Köln", "postal_code": "50667",
        "country": "DE"}
EMAIL = "anna@example.com"
# meaner than the law on every point the law sets
POLICY = """currency: USD
window: {days: 10, start: delivery}
promise_hours: 48
fees: {restocking_percent: 10}
shipping: {refund_with_last_item: false, refund_on_merchant_fault: true}
resolution: {default: credit, allow: [credit, refund]}
return_shipping: {label: easypost, paid_by: customer, fee: {USD: "7.00"}, return_by_days: 30,
                  grace_days: 7}
refund_on: inspected
"""


@dataclass
class Shop:
    h: Harness
    easypost: FakeEasyPostServer
    stripe: FakeStripeServer
    smtp: SmtpSink

    def paid(self, order_id: str = "1001", *, address: dict[str, str] | None = ANNA,
             delivered_at: str = "2026-11-20T09:00:00Z", **kw: Any) -> None:
        event = order_paid(order_id, reference=f"pi_{order_id}",
                           customer={"id": "c-1", "email": EMAIL}, **kw)
        order = event["data"]["order"]
        order["delivered_at"] = delivered_at
        if address is not None:
            order["shipping_address"] = address
        self.stripe.fake.add_payment_intent(order["total_amount"], "usd", f"pi_{order_id}")
        assert self.h.post_storefront(event).status_code in (200, 201)

    def open(self, client: FlaskClient, number: str = "1001",
             email: str = EMAIL) -> TestResponse:
        """The look-up from the withdrawal link, then step 1."""
        csrf = field(client.get("/returns/withdraw"), "csrf_token")
        resp = client.post("/returns", data={"csrf_token": csrf, "order_number": number,
                                             "email": email, "next": "withdraw"})
        if resp.status_code != 303:
            return resp
        assert resp.headers["Location"] == "/returns/withdraw"
        return client.get("/returns/withdraw")

    def post(self, client: FlaskClient, page: TestResponse, step: str,
             **fields: str) -> TestResponse:
        """One step's post as sent: answered with a redirect (303), or refused."""
        data = {"csrf_token": field(page, "csrf_token"), "form_token": field(page, "form_token"),
                "step": step, **fields}
        return client.post("/returns/withdraw", data=data)

    def step(self, client: FlaskClient, page: TestResponse, step: str,
             **fields: str) -> TestResponse:
        """One step as a browser takes it: the post, then the page its redirect names."""
        resp = self.post(client, page, step, **fields)
        return client.get(resp.headers["Location"]) if resp.status_code == 303 else resp

    def withdraw(self, client: FlaskClient, **fields: str) -> TestResponse:
        """Step 1 and step 2: the whole order unless ``fields`` say otherwise."""
        form = self.open(client)
        values = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL, **fields}
        summary = self.step(client, form, "review", **values)
        assert summary.status_code == 200, summary.get_data(as_text=True)
        return self.step(client, summary, "confirm", **values)

    def journal(self, *types: str) -> list[tuple[str, str, dict[str, Any]]]:
        with self.h.runtime.engine.connect() as conn:
            rows = conn.execute(select(ledger_entries.c.entry_type, ledger_entries.c.subject_id,
                                       ledger_entries.c.body).order_by(ledger_entries.c.seq))
            return [(t, s, json.loads(b)) for t, s, b in rows if not types or t in types]

    def attempts(self) -> list[tuple[str, int, str]]:
        return [(r.kind, int(r.amount), r.status) for r in self.h.rows(refund_attempts)]

    def recorded(self) -> dict[str, int]:
        return {"withdrawals": self.h.count(withdrawals), "outbox": self.h.count(outbox),
                **self.h.money_rows()}


def words(resp: TestResponse) -> str:
    body = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    return " ".join(body.replace("&#39;", "'").replace("&amp;", "&").split())


@pytest.fixture
def shop_with(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer,
    easypost_server: FakeEasyPostServer, smtp: SmtpSink, tmp_path: Path,
) -> Iterator[Callable[..., Shop]]:
    made: list[Harness] = []

    def make(policy: str = POLICY, **settings: Any) -> Shop:
        path = tmp_path / "policy.yaml"
        path.write_text(policy, encoding="utf-8")
        h = Harness(any_db_url, clock, stripe_server.url, settings={
            "policy": str(path), "return_addresses": (WAREHOUSE,),
            "easypost_api_key": "EZTK_test", "easypost_api_base": easypost_server.url,
            "easypost_webhook_secret": EASYPOST_SECRET, "mail_url": smtp.url,
            "mail_from": "Harbour <returns@harbour.example>", "shop_name": "Harbour",
            "saleor_app_url": "https://returns.harbour.example", "secret_key": "wd-test-key",
            "withdrawal_enabled": True, **settings})
        made.append(h)
        return Shop(h, easypost_server, stripe_server, smtp)

    yield make
    for h in made:
        h.close()


@pytest.fixture
def shop(shop_with: Callable[..., Shop]) -> Shop:
    return shop_with()
