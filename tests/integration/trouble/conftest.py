"""A harness whose policy is a file written for the test (``Config.policy``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import Harness

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
    policy_harness: Callable[[str], Harness],
) -> Callable[[str], Harness]:
    """A harness on the base policy plus the given ``trouble:`` section."""
    return lambda trouble: policy_harness(BASE_POLICY + trouble)
