"""A harness whose policy is a file written for the test (``Config.policy``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import Clock, Harness
from tests.fakes.stripe_api import FakeStripeServer

BASE_POLICY = """\
name: trouble-test
promise_hours: 48
window: {days: 365, start: payment, outside: review}
resolution: {default: refund, allow: [refund]}
"""


def write_policy(directory: Path, trouble: str) -> Path:
    path = directory / "policy.yaml"
    path.write_text(BASE_POLICY + trouble, encoding="utf-8")
    return path


@pytest.fixture
def harness_with_policy(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> Iterator[Callable[[str], Harness]]:
    made: list[Harness] = []

    def make(trouble: str) -> Harness:
        path = write_policy(tmp_path, trouble)
        h = Harness(any_db_url, clock, stripe_server.url, settings={"policy": str(path)})
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
