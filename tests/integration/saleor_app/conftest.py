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
    from refunds_plugin.db import make_engine
    from refunds_plugin.schema import migrate

    migrate(make_engine(sqlite_url))
    h = SaleorHarness(sqlite_url, clock, saleor)
    yield h
    h.close()


@pytest.fixture
def installed(shop: SaleorHarness) -> SaleorHarness:
    resp = shop.install()
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return shop


CREDIT_POLICY = """
name: saleor-credit
title: Store credit with a 10% bonus.
window: {days: 365, start: payment, outside: review}
reasons: {changed_mind: accept, too_small: accept, too_large: accept, other: accept}
resolution:
  default: credit
  allow: [credit, refund]
  credit_bonus_percent: 10
shipping: {refund_with_last_item: false, refund_on_merchant_fault: true}
"""


@pytest.fixture
def installed_credit(
    sqlite_url: str, clock: Clock, saleor: FakeSaleor, tmp_path
) -> Iterator[SaleorHarness]:
    from refunds_plugin.db import make_engine
    from refunds_plugin.schema import migrate

    policy = tmp_path / "credit.yaml"
    policy.write_text(CREDIT_POLICY)
    migrate(make_engine(sqlite_url))
    h = SaleorHarness(sqlite_url, clock, saleor, policy=str(policy))
    assert h.install().status_code == 200
    yield h
    h.close()
