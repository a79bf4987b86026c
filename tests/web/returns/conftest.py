"""Fixtures for the returns page: a shop on a migrated database with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.returns_shop import ReturnsShop, order_event


@pytest.fixture
def shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(sqlite_url, lambda: now)
    s.seed(order_event("1001"))
    yield s
    s.close()
