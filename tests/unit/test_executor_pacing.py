"""The executor's loop while busy: the due attempts every round, the background steps and the
courier paced (``execution/pacing.py``); idle, everything every round as before."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from refunds_plugin.config import Config
from refunds_plugin.execution import pacing
from refunds_plugin.execution.executor import Executor


@dataclass
class Courier:
    """A courier whose rounds find ``found`` messages each (the last one's batch ``full``)."""

    found: list[int]
    full: bool = False
    rounds: int = 0

    def run_once(self) -> int:
        self.rounds += 1
        return self.found.pop(0) if self.found else 0

    def release(self) -> int:
        return 0


@dataclass
class Script:
    """Drives one loop: ``busy`` rounds that each process an attempt, 5 ms of clock apart, then
    stops it; counts the background steps."""

    executor: Executor
    busy: int
    now: float = 1000.0
    rounds: int = 0
    background: int = 0

    def run_once(self, limit: int = 10) -> int:
        self.rounds += 1
        self.now += 0.005
        if self.rounds > self.busy:
            self.executor.request_stop()
            return 0
        return 1

    def poller(self) -> int:
        self.background += 1
        return 0

    def monotonic(self) -> float:
        return self.now


def looped(monkeypatch: pytest.MonkeyPatch, busy: int, courier: Courier) -> Script:
    # no database: the round's own work is the script's
    executor = Executor(None, {}, Config(), lambda: None, worker_id="pace")  # type: ignore[arg-type]
    script = Script(executor, busy)
    monkeypatch.setattr(executor, "run_once", script.run_once)
    monkeypatch.setattr(pacing.time, "monotonic", script.monotonic)
    executor.poller, executor.courier = script.poller, courier
    executor.run_forever()
    return script


def test_a_busy_loop_runs_the_background_and_the_courier_at_their_pace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    courier = Courier(found=[])
    # 200 busy rounds 5 ms apart: 1 s of clock
    script = looped(monkeypatch, busy=200, courier=courier)
    assert script.rounds == 201  # every round claimed what was due
    # 1 s at one turn per 0.25 s: the first round's turn and three more (not 200)
    assert script.background == 4
    # one per 0.1 s: the first round's and nine more (the last round is idle and waited)
    assert courier.rounds == 10


def test_a_courier_with_a_full_batch_runs_every_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    courier = Courier(found=[10] * 5, full=True)
    looped(monkeypatch, busy=5, courier=courier)
    assert courier.rounds == 6  # each busy round, and the idle one after them


def test_an_idle_loop_runs_everything_every_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    courier = Courier(found=[])
    script = looped(monkeypatch, busy=0, courier=courier)
    assert (script.rounds, script.background, courier.rounds) == (1, 1, 1)
