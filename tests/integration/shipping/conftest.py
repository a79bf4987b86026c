"""A service with return addresses, a policy of the test's choosing, the Stripe fake for money
and the EasyPost fake for labels."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts, return_shipments
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.easypost_api import FakeEasyPostServer, sign, tracker_event
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripeServer
from webhooks.returns.views import status_token

EASYPOST_SECRET = "ep_whsec_test"
SHOP = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US", region="TX")
SHOP_DE = ReturnAddress("Unser Lager", "Lagerweg 2", "Berlin", "10115", "DE", ("DE", "AT"))
ANN = {"name": "Ann Lee", "street": "9 Elm St", "city": "Boston", "postal_code": "02108",
       "region": "MA", "country": "US"}


@pytest.fixture
def easypost_server() -> Iterator[FakeEasyPostServer]:
    server = FakeEasyPostServer().start()
    yield server
    server.stop()


@dataclass
class Returns:
    """One harness plus the helpers a physical-return test needs."""

    h: Harness
    easypost: FakeEasyPostServer
    stripe: FakeStripeServer

    def paid(self, order_id: str = "1001", address: dict[str, str] | None = ANN,
             weights: dict[str, int] | None = None, locale: str | None = None,
             **kwargs: Any) -> None:
        event = order_paid(order_id, reference=f"pi_{order_id}", **kwargs)
        order = event["data"]["order"]
        if locale is not None:
            order["locale"] = locale
        if address is not None:
            order["shipping_address"] = address
        for line in order["lines"]:
            if weights and line["id"] in weights:
                line["weight_grams"] = weights[line["id"]]
        self.stripe.fake.add_payment_intent(order["total_amount"], "usd", f"pi_{order_id}")
        assert self.h.post_storefront(event).status_code in (200, 201)

    def ask(self, return_id: str = "r-1", order_id: str = "1001",
            lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        resp = self.h.post_storefront(return_requested(return_id, order_id, lines=lines))
        assert resp.status_code == 201, resp.json
        assert resp.json is not None
        return dict(resp.json)

    def track(self, event_id: str, code: str, status: str, *, secret: str = EASYPOST_SECRET,
              created_at: str | None = None, client: FlaskClient | None = None) -> TestResponse:
        when = created_at or self.h.clock().isoformat().replace("+00:00", "Z")
        body = json.dumps(tracker_event(event_id, code, status, when)).encode()
        return (client or self.h.client()).post(
            "/webhooks/easypost", data=body,
            headers={"X-Hmac-Signature": sign(body, secret), "Content-Type": "application/json"})

    def labelled(self, lines: list[dict[str, Any]]) -> str:
        """An order paid, its return asked for and its label bought: the tracking code."""
        self.paid()
        self.ask(lines=lines)
        self.labels()
        return str(self.shipment().tracking_code)

    def labels(self) -> int:
        desk = self.h.runtime.shipping_desk
        assert desk is not None
        return desk.run_once()

    def attempts(self) -> list[tuple[str, int, str]]:
        return [(r.kind, int(r.amount), r.status)
                for r in sorted(self.h.rows(refund_attempts), key=lambda r: (r.decision_id, r.seq))]

    def shipment(self) -> Any:
        rows = self.h.rows(return_shipments)
        assert len(rows) == 1
        return rows[0]

    def status_page(self, decision_id: str) -> str:
        """The customer's status page for the return, as their link opens it."""
        with self.h.app.test_request_context():
            url = url_for("returns.status", token=status_token(decision_id))
        resp = self.h.client().get(url)
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    def journal(self, *types: str) -> list[tuple[str, dict[str, Any]]]:
        with self.h.runtime.engine.connect() as conn:
            rows = conn.execute(select(ledger_entries.c.entry_type, ledger_entries.c.body)
                                .order_by(ledger_entries.c.seq)).all()
        return [(t, json.loads(b)) for t, b in rows if not types or t in types]


@pytest.fixture
def returns_service(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer,
    easypost_server: FakeEasyPostServer, tmp_path: Path,
) -> Iterator[Callable[..., Returns]]:
    made: list[Harness] = []

    def make(policy: str, *, label: bool = True, **settings: Any) -> Returns:
        path = tmp_path / "policy.yaml"
        path.write_text(policy, encoding="utf-8")
        base: dict[str, Any] = {
            "policy": str(path), "return_addresses": (SHOP_DE, SHOP),
            "easypost_webhook_secret": EASYPOST_SECRET,
        }
        if label:
            base |= {"easypost_api_key": "EZTK_test", "easypost_api_base": easypost_server.url}
        h = Harness(any_db_url, clock, stripe_server.url, settings=base | settings)
        made.append(h)
        return Returns(h, easypost_server, stripe_server)

    yield make
    for h in made:
        h.close()


@pytest.fixture
def erp(stripe_server: FakeStripeServer,
        easypost_server: FakeEasyPostServer) -> Iterator[Receiver]:
    """The merchant's endpoint at ``HOOK`` (every delivery verified); the fakes pass through."""
    receiver = Receiver()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(stripe_server.url)
        mock.add_passthru(easypost_server.url)
        mock.add_callback(responses.POST, HOOK, callback=receiver)
        yield receiver


LABELLED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: first_scan
"""
MUG_BACK = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


@pytest.fixture
def shop(returns_service: Callable[..., Returns], smtp: SmtpSink,
         erp: Receiver) -> Callable[..., Returns]:
    """A shop that mails its customers (``smtp``) and tells the merchant's ``HOOK``."""
    def make(policy: str = LABELLED, **kw: Any) -> Returns:
        return returns_service(policy, mail_url=smtp.url, mail_from="Mugs <returns@mugs.example>",
                               saleor_app_url="https://returns.mugs.example", shop_name="Mugs",
                               outbound_url=HOOK, outbound_secret=SECRET, **kw)
    return make


def two_mailed_returns(make: Callable[..., Returns],
                       mail_url: str) -> tuple[Returns, dict[str, str]]:
    """A shop that mails its customers and tells the merchant's ``HOOK``: orders 1001 and 1002,
    one mug returned from each (its refund held until the first scan); the decision ids by
    order."""
    r = make(LABELLED, mail_url=mail_url, mail_from="Mugs <returns@mugs.example>",
             saleor_app_url="https://returns.mugs.example", shop_name="Mugs",
             outbound_url=HOOK, outbound_secret=SECRET)
    decided = {}
    for n, order in enumerate(("1001", "1002"), 1):
        r.paid(order)
        decided[order] = r.ask(f"r-{n}", order, lines=MUG_BACK)["decision_id"]
    r.h.drain()
    return r, decided


def desk_round(r: Returns) -> None:
    """The shipping desk's round (labels, expiries, reminders), then the courier."""
    r.labels()
    r.h.drain()


def notify_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "refunds.notify" and rec.levelname == "WARNING"]


def where_they_stand(r: Returns) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, int]]]:
    """Each return's (status, label status) by order; each attempt's (order, status, amount)."""
    return ({row.order_id: (row.status, row.label_status) for row in r.h.rows(return_shipments)},
            sorted((a.order_id, a.status, int(a.amount)) for a in r.h.rows(refund_attempts)))


def cut_at(char: int) -> str:
    """How the JSON parser says a stored string cut short at ``char`` cannot be read."""
    return (f"not valid JSON: Unterminated string starting at: line 1 column {char + 1} "
            f"(char {char})")


BOTH_EXPIRED = ({"1001": ("expired", "voided"), "1002": ("expired", "voided")},
                [("1001", "canceled", 2500), ("1002", "canceled", 2500)])
