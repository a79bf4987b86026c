"""A shop that emails its customers through a real SMTP server (aiosmtpd on a free port) and
pays through the Stripe fake; the merchant's event endpoint, verifying every delivery."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from standardwebhooks import Webhook

from tests.fakes import Clock, Harness
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripeServer

APP_URL = "https://returns.mugs.example"
FROM = "Mugs <returns@mugs.example>"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_shop_with(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, smtp: SmtpSink
) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**settings: Any) -> Harness:
        h = Harness(any_db_url, clock, stripe_server.url, {
            "mail_url": smtp.url, "mail_from": FROM, "saleor_app_url": APP_URL,
            "shop_name": "Mugs", **settings})
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture
def mail_shop(mail_shop_with: Callable[..., Harness]) -> Harness:
    return mail_shop_with()


HOOK = "https://erp.mugs.example/hooks/refunds"
SECRET = "whsec_" + base64.b64encode(b"merchant-erp-signing-secret-0001").decode()


class Receiver:
    """The merchant's endpoint: verifies every delivery with the package's verifier, answers
    500 to the first ``fail_first`` deliveries of each id (or is unreachable), then 204."""

    def __init__(self, fail_first: int = 0, down: bool = False) -> None:
        self.fail_first = fail_first
        self.down = down
        self.deliveries: list[tuple[str, dict[str, Any]]] = []
        self.verified: list[tuple[str, dict[str, Any]]] = []  # the ones answered 2xx

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.down:
            raise requests.ConnectionError("connection refused")
        payload = Webhook(SECRET).verify(request.body, dict(request.headers))
        msg_id = request.headers["webhook-id"]
        self.deliveries.append((msg_id, payload))
        if sum(1 for i, _ in self.deliveries if i == msg_id) <= self.fail_first:
            return 500, {}, "busy"
        self.verified.append((msg_id, payload))
        return 204, {}, ""


@pytest.fixture
def erp(stripe_server: FakeStripeServer) -> Iterator[Callable[..., Receiver]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(stripe_server.url)

        def receiver(**kw: Any) -> Receiver:
            found = Receiver(**kw)
            mock.add_callback(responses.POST, HOOK, callback=found)
            return found

        yield receiver
