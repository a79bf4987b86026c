"""The finance scene for web tests (see tests/fakes/finance_scene.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.finance_scene import Scene, make_scene


@pytest.fixture
def scene(any_db_url: str, now: datetime) -> Iterator[Scene]:
    """Over SQLite and PostgreSQL: the guarded review update and the lock differ between them."""
    made = make_scene(any_db_url, now)
    yield made
    made.shop.runtime.engine.dispose()
