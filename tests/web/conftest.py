"""Web-tier fixtures: the real app on a migrated database, a hand-moved clock, the Stripe fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes import Clock, Harness
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def stripe_server() -> Iterator[FakeStripeServer]:
    server = FakeStripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_stripe(stripe_server: FakeStripeServer) -> FakeStripe:
    return stripe_server.fake


@pytest.fixture
def harness(any_db_url: str, clock: Clock, stripe_server: FakeStripeServer) -> Iterator[Harness]:
    h = Harness(any_db_url, clock, stripe_server.url)
    yield h
    h.close()


@pytest.fixture
def sqlite_harness(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer
) -> Iterator[Harness]:
    h = Harness(sqlite_url, clock, stripe_server.url)
    yield h
    h.close()
