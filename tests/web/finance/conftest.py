"""The finance scene for web tests (see tests/fakes/finance_scene.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.finance_scene import Scene, make_scene


@pytest.fixture
def scene(sqlite_url: str, now: datetime) -> Iterator[Scene]:
    made = make_scene(sqlite_url, now)
    yield made
    made.shop.runtime.engine.dispose()
