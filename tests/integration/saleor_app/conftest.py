"""Saleor-app fixtures: a fake Saleor behind ``responses`` and the real app installed in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import SaleorHarness


@pytest.fixture
def saleor(clock: Clock) -> Iterator[FakeSaleor]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeSaleor(mock, clock=clock)


@pytest.fixture
def shop(any_db_url: str, clock: Clock, saleor: FakeSaleor) -> Iterator[SaleorHarness]:
    """The app on SQLite, then on PostgreSQL (``any_db_url`` migrates and empties it)."""
    h = SaleorHarness(any_db_url, clock, saleor)
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


def install(any_db_url: str, clock: Clock, saleor: FakeSaleor, policy: Path | None = None,
            text: str = "", **config: Any) -> SaleorHarness:
    """The app installed in the fake Saleor, with the policy ``text`` written to ``policy``
    (none: the default policy) and other settings."""
    if policy is not None:
        policy.write_text(text)
        config["policy"] = str(policy)
    h = SaleorHarness(any_db_url, clock, saleor, **config)
    assert h.install().status_code == 200
    return h


@pytest.fixture
def installed_credit(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path
) -> Iterator[SaleorHarness]:
    h = install(any_db_url, clock, saleor, tmp_path / "credit.yaml", CREDIT_POLICY)
    yield h
    h.close()
