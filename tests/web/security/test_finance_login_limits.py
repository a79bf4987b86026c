"""Finance log-ins: failures are limited per client address and per token prefix (in the
limiter storage the returns page uses), refused with 429 even for a good token once over,
and logged without any part of the token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from tests.fakes.finance_scene import Scene, csrf, make_scene


@pytest.fixture
def scene(sqlite_url: str, now: datetime) -> Iterator[Scene]:
    built = make_scene(sqlite_url, now)
    yield built
    built.shop.runtime.engine.dispose()


def _login(client: FlaskClient, token: str, ip: str) -> int:
    env = {"REMOTE_ADDR": ip}
    form = {"token": token, "csrf_token": csrf(client, "/finance/login")}
    return client.post("/finance/login", data=form, environ_base=env).status_code


def test_ten_failures_from_one_address_lock_it_out_even_with_a_good_token(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    client = scene.shop.app.test_client()
    caplog.set_level(logging.INFO)
    wrong = [f"rfd_wrong{n:02d}-token-guess" for n in range(10)]
    assert [_login(client, t, "203.0.113.5") for t in wrong] == [401] * 10
    assert _login(client, scene.admin, "203.0.113.5") == 429
    assert _login(client, scene.admin, "198.51.100.7") == 303  # another address is not locked
    failures = [r for r in caplog.records if r.getMessage().startswith("finance login failed")]
    assert len(failures) == 10
    assert all(getattr(r, "client", None) == "203.0.113.5" for r in failures)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert not any(t in text or t[:12] in text for t in [*wrong, scene.admin])


def test_five_failures_on_one_token_prefix_lock_that_prefix_from_every_address(
    scene: Scene,
) -> None:
    client = scene.shop.app.test_client()
    prefix = scene.finance[:12]
    guesses = [prefix + f"guess{n}" for n in range(5)]
    codes = [_login(client, g, f"203.0.113.{n + 10}") for n, g in enumerate(guesses)]
    assert codes == [401] * 5
    assert _login(client, scene.finance, "192.0.2.1") == 429  # the prefix is being guessed
    assert _login(client, scene.admin, "192.0.2.1") == 303  # other tokens are not
