"""The returns page served by werkzeug, for the shared headless Chromium (../conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.fakes.returns_shop import ReturnsShop

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "returns"


@pytest.fixture
def screenshot() -> Callable[[Any, str], None]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def serve(sqlite_url: str, now: datetime) -> Iterator[Callable[..., tuple[ReturnsShop, str]]]:
    """Start a shop with ``settings`` on 127.0.0.1 and return it with its base URL."""
    running: list[tuple[ReturnsShop, Any, threading.Thread]] = []

    def start(**settings: Any) -> tuple[ReturnsShop, str]:
        shop = ReturnsShop(sqlite_url, lambda: now, settings)
        server = make_server("127.0.0.1", 0, shop.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((shop, server, thread))
        return shop, f"http://127.0.0.1:{server.server_port}"

    yield start
    for shop, server, thread in running:
        server.shutdown()
        thread.join(5)
        server.server_close()
        shop.close()
