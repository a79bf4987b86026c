"""The executor: claims pending refund attempts, calls the provider, records the outcome.

Claims are leases: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (any number of workers),
the single write lock on SQLite (one executor). A worker that dies keeps its claim only until
the lease runs out. Every try of an attempt sends the same idempotency key, so a provider that
already did the work answers with what it did instead of doing it again.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from refunds_plugin.config import Config
from refunds_plugin.domain.kinds import WAITING, AttemptStatus, shown_status
from refunds_plugin.errors import ProviderError
from refunds_plugin.execution.instructions import Unreadable, instruction_for, instructions_for
from refunds_plugin.execution.pacing import BACKGROUND_EVERY_S, COURIER_EVERY_S, Pace
from refunds_plugin.ledger import claims
from refunds_plugin.ledger.attempts import AttemptRow, save_progress, transition
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.journal import Entry, append_entries
from refunds_plugin.ledger.reviews import note_short_refund
from refunds_plugin.providers import Instruction, Provider, ProviderResult

log = logging.getLogger("refunds.executor")


FLUSH_AFTER_S = 0.05  # write a batch's known outcomes at least this often
UNREADABLE = "instruction_unreadable"  # the error code of an attempt whose stored JSON is bad


@dataclass(frozen=True)
class Called:
    """One provider call's answer, not yet written: a result, or an error (``retry`` overrides
    the error's own retryable flag for unexpected exceptions)."""

    attempt: AttemptRow
    result: ProviderResult | None
    error: ProviderError | None
    retry: bool | None


class Sideline(Protocol):
    """Other claimed work the executor's loop runs after each round (the notification
    courier, ``notify/courier.py``): a round of it, and handing back its claims."""

    def run_once(self) -> int: ...

    def release(self) -> int: ...

    @property
    def full(self) -> bool: ...  # its last round took a full batch: more are likely due


def backoff(tries: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter in [½, 1] of the step, capped."""
    step = min(cap, base * (2 ** max(0, tries - 1)))
    return step * (0.5 + rng.random() / 2)


class Executor:
    def __init__(
        self,
        engine: Engine,
        providers: Mapping[str, Provider],
        config: Config,
        clock: Callable[[], datetime],
        worker_id: str | None = None,
        observe: Callable[[str, str, float], None] | None = None,
        poller: Callable[[], int] | None = None,
        courier: Sideline | None = None,
    ) -> None:
        self.engine = engine
        self.providers = providers
        self.config = config
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.observe = observe  # (provider, outcome, seconds) for metrics
        # asks providers about refunds they accepted but no event will settle (the Saleor
        # poller); run once a round of the loop
        self.poller = poller
        self.courier = courier  # delivers the outbox's messages, after each round
        self._rng = random.Random()
        self.outcomes: Counter[str] = Counter()  # attempts that reached each state, so far
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._full = False  # the last claim took as many as it asked for
        self._done = threading.Condition()

    # --- claiming -----------------------------------------------------------------------------
    def claim(self, limit: int = 10) -> list[AttemptRow]:
        return self._claim(limit)[0]

    def _claim(
        self, limit: int
    ) -> tuple[list[AttemptRow], dict[str, Instruction | Unreadable]]:
        """Claim up to ``limit`` due attempts and read their instructions, in the claim's one
        transaction. Before it, a look (no write lock taken only to find nothing due), which
        is skipped right after a full batch: more are likely due. An attempt whose stored
        JSON is bad does not fail the claim: it is claimed with an ``Unreadable``."""
        now = self.clock()
        lease_until = now + timedelta(seconds=self.config.executor_lease_s)
        if not self._full:
            with self.engine.connect() as conn:
                if not claims.any_due(conn, now):
                    return [], {}
        unreadable: dict[str, str] = {}
        with write_tx(self.engine) as conn:
            batch = claims.claim_due(conn, self.worker_id, now, lease_until, limit, unreadable)
            instructions = instructions_for(conn, batch)
        for attempt_id, why in unreadable.items():
            instructions[attempt_id] = Unreadable(why, sent_before=True)
        self._full = len(batch) == limit
        return batch, instructions

    def release(self, ids: list[str] | None = None) -> int:
        """Hand back claims this worker holds but has not started (graceful shutdown; or only
        ``ids``, the rest of a batch when the executor is stopped halfway)."""
        with write_tx(self.engine) as conn:
            return claims.release(conn, self.worker_id, ids)

    # --- executing ----------------------------------------------------------------------------
    def instruction(self, attempt: AttemptRow) -> Instruction | Unreadable:
        return instruction_for(self.engine, attempt)

    def _save_progress(self, attempt_id: str) -> Callable[[dict[str, Any]], None]:
        def save(progress: dict[str, Any]) -> None:
            with write_tx(self.engine) as conn:
                save_progress(conn, attempt_id, progress)

        return save

    def process(self, attempt: AttemptRow) -> str:
        """Run one claimed attempt to its next state; returns that state."""
        return self._record([self._call(attempt)])[0]

    def _call(
        self, attempt: AttemptRow, instruction: Instruction | Unreadable | None = None
    ) -> Called:
        """Call the provider for one claimed attempt; nothing is written here."""
        if isinstance(instruction, Unreadable):
            return self._unsent(attempt, instruction)
        provider = self.providers.get(attempt.provider)
        started = time.perf_counter()
        outcome = "error"
        try:
            if provider is None:
                raise ProviderError(
                    f"no provider named {attempt.provider!r} is configured",
                    code="provider_not_configured",
                )
            instruction = instruction or self.instruction(attempt)
            if isinstance(instruction, Unreadable):
                return self._unsent(attempt, instruction)
            result = provider.execute(instruction, self._save_progress(attempt.id))
            outcome = result.status
            return Called(attempt, result, None, None)
        except ProviderError as exc:
            outcome = "retry" if exc.retryable else "failed"
            return Called(attempt, None, exc, None)
        except Exception as exc:  # an unexpected bug or library error: retry, never lose it
            log.exception("provider raised unexpectedly", extra={"attempt_id": attempt.id})
            outcome = "retry"
            error = ProviderError(f"{type(exc).__name__}: {exc}", code="unexpected")
            return Called(attempt, None, error, True)
        finally:
            if self.observe:
                self.observe(attempt.provider, outcome, time.perf_counter() - started)

    @staticmethod
    def _unsent(attempt: AttemptRow, unreadable: Unreadable) -> Called:
        """No provider call for an attempt whose stored JSON is bad; a person looks
        (``_failed``): failed, its amount freed, when no try of it can have reached the
        provider before; otherwise unknown, the amount still reserved, as the money may have
        moved (an earlier try, or a review's requeue, or saved progress)."""
        sent_before = unreadable.sent_before or attempt.tries > 1 or bool(attempt.progress)
        check = "; an earlier try may have paid, check the provider" if sent_before else ""
        error = ProviderError(f"not sent: {unreadable.why}{check}; a person must repair it",
                              code=UNREADABLE)
        return Called(attempt, None, error, sent_before)

    def _record(self, calls: list[Called]) -> list[str]:
        """Write the outcomes of several provider calls in one transaction (one commit, one
        turn at SQLite's single writer); returns each attempt's new state."""
        if not calls:
            return []
        states: list[str] = []
        journal: list[Entry] = []  # the batch's attempt entries, appended in one statement
        with write_tx(self.engine) as conn:
            now = self.clock()
            for called in calls:
                if called.result is None:
                    assert called.error is not None
                    states.append(self._failed(conn, called.attempt, called.error, called.retry,
                                               now, journal))
                else:
                    states.append(self._succeeded(conn, called.attempt, called.result, now,
                                                  journal))
            if journal:
                append_entries(conn, journal, now)
        # as people read it: the dry run's or Stripe test mode's success moved no real money
        shown = [shown_status(state, c.attempt.provider, c.result.livemode if c.result else None)
                 for c, state in zip(calls, states, strict=True)]
        for called, state in zip(calls, shown, strict=True):
            extra = {"attempt_id": called.attempt.id, "decision_id": called.attempt.decision_id}
            if called.error is not None:
                error = f"{called.error.code}: {called.error.message}"
                log.warning("attempt %s: %s", state, error, extra=extra)
            else:
                log.info("attempt %s", state, extra=extra)
        self.outcomes.update(shown)
        self._notify()
        return states

    def _succeeded(self, conn: Connection, attempt: AttemptRow, result: ProviderResult,
                   now: datetime, journal: list[Entry]) -> str:
        moved = transition(
            conn, attempt.id, result.status, now, expect=(AttemptStatus.IN_PROGRESS,),
            claimed_by=self.worker_id, provider_reference=result.reference,
            sent_amount=result.sent_amount, credit_code=result.credit_code,
            livemode=result.livemode, journal=journal,
        )
        if moved:  # a refund Saleor made smaller than asked: a person hears of the rest
            note_short_refund(conn, attempt, result.sent_amount, now, journal)
        else:
            log.warning(
                "lease lost before the outcome was written; the next claim replays "
                "the same idempotency key",
                extra={"attempt_id": attempt.id},
            )
        return result.status

    def _failed(
        self,
        conn: Connection,
        attempt: AttemptRow,
        exc: ProviderError,
        retryable: bool | None,
        now: datetime,
        journal: list[Entry],
    ) -> str:
        retry = exc.retryable if retryable is None else retryable
        error = f"{exc.code}: {exc.message}"
        if retry and attempt.tries < self.config.executor_max_tries and exc.code != UNREADABLE:
            delay = backoff(attempt.tries, self.config.executor_backoff_base_s,
                            self.config.executor_backoff_cap_s, self._rng)
            moved = transition(
                conn, attempt.id, AttemptStatus.PENDING, now,
                expect=(AttemptStatus.IN_PROGRESS,), claimed_by=self.worker_id, error=error,
                next_try_at=now + timedelta(seconds=delay),
                note=f"try {attempt.tries} failed; retry in {delay:.1f}s", journal=journal,
            )
            if moved:  # back in the queue: nobody holds it until the next claim
                claims.let_go(conn, attempt.id)
            return AttemptStatus.PENDING
        # out of tries on a retryable error (a timeout is not a "no"): the provider may have
        # paid, so the amount stays reserved and a person looks; only a final error frees it
        status = AttemptStatus.UNKNOWN if retry else AttemptStatus.FAILED
        why = error if not retry or exc.code == UNREADABLE else \
            f"gave up after {attempt.tries} tries: {error}"
        transition(conn, attempt.id, status, now, expect=(AttemptStatus.IN_PROGRESS,),
                   claimed_by=self.worker_id, error=why, journal=journal)
        return status

    def run_once(self, limit: int = 10) -> int:
        """Claim and process one batch; returns how many attempts were processed.

        Outcomes are written together, in one transaction, when the batch is done or when the
        oldest unwritten outcome is ``FLUSH_AFTER_S`` old (a slow provider does not hold back
        what is known). Until then a crash leaves the attempt claimed; the next claim after
        the lease replays the same idempotency key and the provider answers what it did.
        """
        claimed_at = self.clock()  # no later than the claim's own clock read: leases start here
        batch, instructions = self._claim(limit)
        called: list[Called] = []
        oldest = 0.0
        for index, attempt in enumerate(batch):
            if self._stop.is_set():
                self.release([a.id for a in batch[index:]])
                break
            if not self._still_mine(attempt, claimed_at):
                log.warning("claim taken over by another worker before the provider call; "
                            "skipped", extra={"attempt_id": attempt.id})
                continue
            if not called:
                oldest = time.monotonic()
            called.append(self._call(attempt, instructions.get(attempt.id)))
            if time.monotonic() - oldest >= FLUSH_AFTER_S:
                self._record(called)
                called = []
        self._record(called)
        return len(batch)

    def _still_mine(self, attempt: AttemptRow, claimed_at: datetime) -> bool:
        """Renew the lease of a claimed attempt just before its provider call, and check that
        this worker still holds it (a slow batch may have outlived the lease and another worker
        reclaimed it). While the lease is less than half used nobody else can have taken it,
        so the renewal, a write transaction of its own, is skipped."""
        lease = timedelta(seconds=self.config.executor_lease_s)
        now = self.clock()
        if now < claimed_at + lease / 2:
            return True
        with write_tx(self.engine) as conn:
            return claims.renew_lease(conn, attempt.id, self.worker_id, now + lease)

    def drain(self, max_rounds: int = 1000) -> Counter[str]:
        """Process until nothing is due (tests, the CLI's one-shot mode); returns how many
        attempts reached each state."""
        before = Counter(self.outcomes)
        for _ in range(max_rounds):
            worked = self.run_once()
            if self.courier is not None:  # a settled attempt enqueues messages: deliver them
                worked += self.courier.run_once()
            if worked == 0:
                break
        return self.outcomes - before

    # --- the loop -----------------------------------------------------------------------------
    def run_forever(self) -> None:
        """Rounds until stopped: the due attempts every round, the other work paced while busy
        (``pacing``); idle, it sleeps until nudged, its poll interval or the courier's turn."""
        background, mail = Pace(BACKGROUND_EVERY_S), Pace(COURIER_EVERY_S)
        while not self._stop.is_set():
            put_off = False  # the courier's turn was put off this round (the loop was busy)
            try:
                worked = self.run_once()
                if self.poller is not None and background.due():
                    self.poller()
                if self.courier is not None:
                    if mail.due(anyway=self.courier.full):
                        worked += self.courier.run_once()
                    else:
                        put_off = True
            except Exception:  # the database may be briefly unavailable: keep the loop alive
                log.exception("executor loop error")
                worked = 0
            if not worked:
                poll = self.config.executor_poll_s
                self._wake.wait(min(poll, mail.left()) if put_off else poll)
                self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="refunds-executor", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.release()
        if self.courier is not None:
            self.courier.release()

    def request_stop(self) -> None:
        """Finish the current attempt, then leave ``run_forever`` (a signal handler calls it)."""
        self._stop.set()
        self._wake.set()

    def wake(self, _ids: tuple[str, ...] = ()) -> None:
        self._wake.set()

    def _notify(self) -> None:
        with self._done:
            self._done.notify_all()

    def wait_until_settled(
        self, read: Callable[[], tuple[AttemptRow, ...]], timeout: float
    ) -> tuple[AttemptRow, ...]:
        """Wait up to ``timeout`` s for the attempts ``read`` returns to settle; the last read."""
        deadline = time.monotonic() + timeout
        while True:
            attempts = read()
            settled = all(a.status not in WAITING for a in attempts)
            left = deadline - time.monotonic()
            if settled or left <= 0:
                return attempts
            with self._done:
                self._done.wait(min(left, 0.2))
