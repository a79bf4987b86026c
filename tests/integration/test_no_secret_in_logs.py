"""No secret reaches a log line: a whole flow (a paid order, a return refunded through the
Stripe fake, Stripe's webhook, finance log-ins right and wrong, the API with a bearer token)
runs with known secret values, every log record of every logger is captured at DEBUG, and
neither the message, its arguments, its extra fields nor the formatted JSON line holds any of
them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.logs import JsonFormatter
from tests.fakes import (
    STOREFRONT_SECRET,
    STRIPE_SECRETS,
    Clock,
    Harness,
    order_paid,
    return_requested,
    stripe_event,
)
from tests.fakes.finance_scene import csrf
from tests.fakes.stripe_api import FakeStripeServer

API_KEY = "sk_live_51KnownSecretApiKeyValue0123456789"
SESSION_KEY = "known-flask-session-signing-key-0123456789"
SALEOR_HMAC = "known-saleor-hmac-secret-0123456789"
SMTP_PASSWORD = "known-smtp-password-0123456789"  # for mail settings, once the service sends mail


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def handler() -> Iterator[Everything]:
    root = logging.getLogger()
    h, level = Everything(), root.level
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    for name in ("refunds", "stripe", "urllib3", "werkzeug", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield h
    root.removeHandler(h)
    root.setLevel(level)
    for name in ("refunds", "stripe", "urllib3", "werkzeug", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_a_whole_flow_logs_no_secret(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer, handler: Everything,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFUNDS_SMTP_PASSWORD", SMTP_PASSWORD)
    stripe_server.fake.add_payment_intent(5500, "usd", "pi_123")
    h = Harness(sqlite_url, clock, stripe_server.url, settings={
        "stripe_api_key": API_KEY, "secret_key": SESSION_KEY, "saleor_hmac_secret": SALEOR_HMAC})
    token = create_token(h.runtime.engine, "Ann", "admin", clock()).secret
    assert h.post_storefront(order_paid()).status_code == 200
    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()
    [refund] = stripe_server.fake.refunds
    assert h.post_stripe(stripe_event("evt_r1", "refund.updated", refund)).status_code == 200
    assert h.post_storefront(order_paid(), secret="whsec_wrong").status_code == 400
    client = h.client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/decisions", headers=auth).status_code == 200
    assert client.get("/api/decisions", headers={"Authorization": "Bearer " + token[:-3] + "xyz"}
                      ).status_code == 401
    for tried in (token[:-3] + "xyz", token):
        client.post("/finance/login", data={"token": tried,
                                            "csrf_token": csrf(client, "/finance/login")})
    h.close()

    secrets = [API_KEY, SESSION_KEY, SALEOR_HMAC, SMTP_PASSWORD, STOREFRONT_SECRET,
               *STRIPE_SECRETS, token, token[:-3] + "xyz", token[4:20]]
    formatter = JsonFormatter()
    assert len(handler.records) > 10
    for record in handler.records:
        seen = " ".join([formatter.format(record), record.getMessage(), repr(record.args),
                         repr({k: v for k, v in record.__dict__.items() if k != "args"})])
        leaked = [s for s in secrets if s in seen]
        assert not leaked, f"{record.name}: {record.getMessage()[:200]} holds {leaked}"
