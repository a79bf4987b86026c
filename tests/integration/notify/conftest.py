"""A shop that emails its customers through a real SMTP server (aiosmtpd on a free port) and
pays through the Stripe fake; the merchant's event endpoint, verifying every delivery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from tests.fakes import Clock, Harness
from tests.fakes.outbound_receiver import HOOK, Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripeServer

APP_URL = "https://returns.mugs.example"
FROM = "Mugs <returns@mugs.example>"


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


@pytest.fixture
def erp(stripe_server: FakeStripeServer) -> Iterator[Callable[..., Receiver]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(stripe_server.url)

        def receiver(**kw: Any) -> Receiver:
            found = Receiver(**kw)
            mock.add_callback(responses.POST, HOOK, callback=found)
            return found

        yield receiver
