"""The returns page's look-up limits on Redis storage hold across two app instances, as they must
across gunicorn workers: what one app counted, the other refuses.

Redis is ``REFUNDS_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``). The tests skip with
a reason when it does not answer, unless ``CI`` is set: then they fail. Each test uses its own
order number and client addresses, so the limiter's keys are its own; it deletes them at the end
and never flushes the database, so parallel runs do not meet.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import redis
from flask import Flask

from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

REDIS_URL = os.environ.get("REFUNDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but Redis is not reachable at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({problem}); set "
                    "REFUNDS_TEST_REDIS_URL or start a server to run these tests")
    yield client
    client.close()


class Run:
    """This test's own order number and client addresses, and the limiter keys made for them."""

    def __init__(self, db: redis.Redis | None) -> None:
        tag = uuid.uuid4()
        self.order = f"RL{tag.hex[:12]}"
        self.net = f"10.{tag.bytes[0]}.{tag.bytes[1]}."
        self.db = db

    def ip(self, n: int) -> str:
        return f"{self.net}{n}"

    def redis_keys(self) -> list[bytes]:
        assert self.db is not None
        found = {*self.db.scan_iter(match=f"*{self.order}*"),
                 *self.db.scan_iter(match=f"*/{self.net}*")}
        return sorted(found)

    def clean(self) -> None:
        if self.db is not None and (keys := self.redis_keys()):
            self.db.delete(*keys)


@pytest.fixture
def run(redis_db: redis.Redis) -> Iterator[Run]:
    r = Run(redis_db)
    yield r
    r.clean()


TwoApps = Callable[..., tuple[Flask, Flask, ReturnsShop]]


@pytest.fixture
def two_apps(sqlite_url: str, now: datetime) -> Iterator[TwoApps]:
    """Two apps on one database and one limiter storage, as two workers would be; the order is
    seeded once, through the first."""
    shops: list[ReturnsShop] = []

    def make(storage: str, order: str, **limits: str) -> tuple[Flask, Flask, ReturnsShop]:
        settings: dict[str, Any] = {"ratelimit_storage_uri": storage}
        shops.extend(ReturnsShop(sqlite_url, lambda: now, settings=settings) for _ in range(2))
        shops[0].seed(order_event(order))
        for shop in shops:
            shop.app.config.update(limits)
        return shops[0].app, shops[1].app, shops[0]

    yield make
    for shop in shops:
        shop.close()


@dataclass(frozen=True)
class Lookup:
    status: int
    text: str
    opened: bool  # the session now holds the order: ``/returns/order`` shows its form


def _lookup(app: Flask, number: str, email: str, ip: str) -> Lookup:
    client = app.test_client()
    env = {"REMOTE_ADDR": ip}
    page = client.get("/returns", environ_base=env).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert found, "no csrf_token in the page"
    resp = client.post("/returns", environ_base=env, data={
        "csrf_token": found.group(1), "order_number": number, "email": email})
    opened = client.get("/returns/order", environ_base=env).status_code == 200
    return Lookup(resp.status_code, resp.get_data(as_text=True), opened)


def test_wrong_emails_counted_by_one_app_are_refused_by_the_other_for_the_same_order(
    two_apps: TwoApps, run: Run,
) -> None:
    first, second, shop = two_apps(REDIS_URL, run.order,
                                   RETURNS_LOOKUP_LIMIT_ORDER="3 per 15 minutes")
    guesses = [_lookup(app, run.order, f"guess{i}@example.com", run.ip(i)).status
               for i, app in enumerate((first, first, second))]
    before = shop.snapshot()

    late = [_lookup(second, run.order, "guess10@example.com", run.ip(10)),
            _lookup(second, run.order, EMAIL, run.ip(1)),  # a guesser, with the right email
            _lookup(first, run.order, "guess12@example.com", run.ip(12))]
    customer = _lookup(second, run.order, EMAIL, run.ip(20))

    assert guesses == [404, 404, 404]
    assert [(r.status, r.opened) for r in late] == [(429, False)] * 3
    assert ["Too many attempts" in r.text for r in late] == [True] * 3
    assert ["Blue enamel mug" in r.text for r in late] == [False] * 3
    assert shop.snapshot() == before
    assert (customer.status, customer.opened) == (303, True)  # not locked out by strangers
    assert [k for k in run.redis_keys() if run.order.encode() in k], "the count is not in Redis"


def test_look_ups_counted_by_one_app_are_refused_by_the_other_for_the_same_address(
    two_apps: TwoApps, run: Run,
) -> None:
    first, second, shop = two_apps(REDIS_URL, run.order, RETURNS_LOOKUP_LIMIT_IP="2 per hour")
    ip = run.ip(1)
    early = [_lookup(first, f"{run.order}-7", EMAIL, ip).status,
             _lookup(second, f"{run.order}-8", EMAIL, ip).status]
    before = shop.snapshot()

    late = [_lookup(second, run.order, EMAIL, ip), _lookup(first, run.order, EMAIL, ip)]
    elsewhere = _lookup(second, run.order, EMAIL, run.ip(2))

    assert early == [404, 404]
    assert [(r.status, r.opened) for r in late] == [(429, False)] * 2
    assert shop.snapshot() == before
    # the same look-up from another address opens the order: only the limit refused it
    assert (elsewhere.status, elsewhere.opened) == (303, True)


def test_with_memory_storage_each_app_counts_alone_so_the_second_lets_the_look_up_through(
    two_apps: TwoApps,
) -> None:
    """Why the Redis storage matters: the same requests on ``memory://`` are not refused."""
    run = Run(None)
    first, second, _ = two_apps("memory://", run.order,
                                RETURNS_LOOKUP_LIMIT_ORDER="3 per 15 minutes")
    guesses = [_lookup(app, run.order, f"guess{i}@example.com", run.ip(i)).status
               for i, app in enumerate((first, first, second))]

    late = _lookup(second, run.order, "guess10@example.com", run.ip(10))

    assert guesses == [404, 404, 404]
    assert (late.status, late.opened) == (404, False)  # the second app saw one failure only
