"""The insights' tests run on the hand-made history of ``tests/fakes/insights_history.py``,
with the clock standing at the moment its returns are decided."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.fakes import Clock, Harness
from tests.fakes.insights_history import DECIDED, POLICY, History, make_history
from tests.fakes.stripe_api import FakeStripeServer


@pytest.fixture
def now() -> datetime:
    return DECIDED


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "insights-policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def shop(any_db_url: str, clock: Clock, stripe_server: FakeStripeServer,
         policy_file: Path) -> Iterator[tuple[Harness, History]]:
    h = Harness(any_db_url, clock, stripe_server.url,
                settings={"policy": str(policy_file), "secret_key": "insights-test-key"})
    try:
        yield h, make_history(h, stripe_server.fake)
    finally:
        h.close()
