"""Saleor-app fixtures: a fake Saleor behind ``responses`` and the real app installed in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import SaleorHarness


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeSaleor(mock)


@pytest.fixture
def shop(sqlite_url: str, clock: Clock, saleor: FakeSaleor) -> Iterator[SaleorHarness]:
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    h = SaleorHarness(sqlite_url, clock, saleor)
    yield h
    h.close()


@pytest.fixture
def installed(shop: SaleorHarness) -> SaleorHarness:
    resp = shop.install()
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return shop
