"""Sealing journal entries into the hash chain after commit, in ``seq`` order (PostgreSQL).

A writer on PostgreSQL inserts its entries with ``prev_hash`` and ``hash`` NULL: it reads no
chain tail and takes no lock that other orders share. Right after its commit, ``write_tx`` tells
its process's background sealer (``committed``) and is answered at once: no sealing round trip
is on a request's path. The sealer (a thread per process and engine, woken by the commits) runs
rounds, each sealing every entry committed so far, so one round seals many writers' entries.
``settle`` waits for a round begun after it (``refunds ledger head``, tests); a process that
stops cleanly seals what it owes (``atexit``), and one that crashes leaves it to the next round.

A round may seal only entries no earlier entry can still join, so the chain is in ``seq``
order, exactly as when every writer appended under one lock, and ``chain.verify`` reads it the
same way. It notes S, the newest committed unsealed entry. When a number up to S is missing,
it waits for the writing transactions of this database running at that moment to end (read
just after it, so perhaps with newer ones, waited for too: ``backend_xid`` in
``pg_stat_activity``, then each one's lock on its own id in ``pg_locks``; so the processes run
as one database role, or as one allowed to see the others'): every number up to S was drawn
by one of them or by one already ended, so after that each entry up to S is committed or will
never exist. It chains those after the sealed tail
with ``chain.entry_hash``, and records the newest entry sealed (``ledger_seal``) in the same
statement, so ``verify`` knows an entry at or below it found unsealed had its seal erased. (A
writer holds a transaction id from its first written row, and each writes its own row before
its entry.)
One process seals at a time (a try-lock); the others' rounds find it taken and try again.

SQLite has one writer at a time, so ``journal.append_entry`` chains there at once and nothing
waits here. ``refunds ledger verify`` says how many entries wait; ``refunds ledger seal`` seals
them now.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from refunds_plugin import metrics
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.tables import ledger_entries

log = logging.getLogger("refunds.ledger")
SEAL_KEY = 0x52_46_53_4C  # "RFSL": the sealer's advisory lock (never taken by a request)
WAIT_S = 5.0  # a round waits at most this long for the writers in flight; the next one goes on
PENDING = "journal_unsealed"  # conn.info: (transaction, its newest unsealed seq)

_le = ledger_entries.c
# One round trip: the try-lock; the chain's tail and S, the newest waiting entry; the waiting
# entries up to S with the tail's row, all in the statement's snapshot (``_RUNNING`` follows
# only when a number up to S is missing).
# The seal's commit need not wait for its fsync: the entries are durable already, and a seal lost
# in a crash is made again identically (same entries, same order, same hashes) by the next round.
# Everything at or below the tail is sealed (rounds seal in seq order), so the waiting entries are
# read from the tail forward on the primary key: never through ``hash IS NULL``, which on the hash
# index also finds every entry sealed since the last VACUUM (its old row version), 4.5 ms a round
# at 4,600 entries (tests/integration/test_queue_scans.py).
_START = text(
    "WITH s AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS quick, "
    "pg_try_advisory_xact_lock(:k) AS mine, "
    "(SELECT max(seq) FROM ledger_entries WHERE hash IS NOT NULL) AS tail, "
    "(SELECT max(seq) FROM ledger_entries) AS newest) "
    "SELECT s.mine, s.tail, CASE WHEN s.newest > coalesce(s.tail, 0) THEN s.newest END, "
    "e.seq, e.entry_type, e.subject_id, e.body, e.hash "
    "FROM s LEFT JOIN ledger_entries e ON s.mine AND s.newest > coalesce(s.tail, 0) "
    "AND e.seq >= coalesce(s.tail, 0) AND e.seq <= s.newest "
    "AND (e.hash IS NULL OR e.seq = s.tail) ORDER BY e.seq"
)
# the writing transactions of this database, read only when a round found a number up to S
# missing, after ``_START``: a later look finds every writer that was running at its snapshot
# and has not ended since (and perhaps newer ones, waited for too). Under load, reading
# ``pg_stat_activity`` was the costliest part of the round's first statement in PostgreSQL's
# plans, and most rounds find no gap or find another process sealing.
_RUNNING = text(
    "SELECT CAST(backend_xid AS text) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL "
    "AND pid <> pg_backend_pid()"
)
# still running: a transaction holds the lock on its own id until it has ended and is visible
# as ended to every later snapshot (pg_locks is read afresh each time; pg_stat_activity is not)
_STILL = text(
    "SELECT CAST(transactionid AS text) FROM pg_locks WHERE locktype = 'transactionid' "
    "AND granted AND CAST(transactionid AS text) = ANY(:xids)"
)
# the sealed tail and the waiting entries up to ``upto``, read once the writers have ended
_ROWS = text(
    "WITH t AS (SELECT max(seq) AS tail FROM ledger_entries WHERE hash IS NOT NULL) "
    "SELECT e.seq, e.entry_type, e.subject_id, e.body, e.hash FROM t, ledger_entries e "
    "WHERE e.seq >= coalesce(t.tail, 0) AND e.seq <= :upto "
    "AND (e.hash IS NULL OR e.seq = t.tail) ORDER BY e.seq"
)
# every entry of the round in one statement (an executemany is a pipeline of one per entry),
# and the seal record (``ledger_seal``) moved to the newest of them, never back: a round that
# seals again what the previous one sealed (an older snapshot) finds it there already. "Not
# sealed yet" is written ``coalesce(hash, '') = ''`` (a hash is never empty), which no index
# answers: each entry is found by its seq on the primary key, never through the hash index's
# ``IS NULL`` entries (the trap above), which the planner chose and which read every entry
# sealed since the last VACUUM
_SEAL = text(
    "WITH sealed AS (UPDATE ledger_entries SET prev_hash = v.p, hash = v.h "
    "FROM unnest(CAST(:s AS bigint[]), CAST(:p AS text[]), CAST(:h AS text[])) AS v(s, p, h) "
    "WHERE ledger_entries.seq = v.s AND coalesce(ledger_entries.hash, '') = '' RETURNING 1) "
    "INSERT INTO ledger_seal (id, seq, hash) VALUES (1, :through, :head) "
    "ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash "
    "WHERE ledger_seal.seq < EXCLUDED.seq"
)


def pending(conn: Connection, seq: int) -> None:
    """``append_entry``: this transaction wrote entry ``seq``, not yet sealed (0 when the
    statement that wrote it returns no seq, ``money_entries.order_rows``: only whether there is
    one is read, by ``write_tx``, to wake the sealer after the commit)."""
    conn.info[PENDING] = (conn.get_transaction(), seq)


def restore(conn: Connection, before: Any) -> None:
    """Put the transaction's mark back as it was (``before``: what ``conn.info`` held under
    ``PENDING``): the entries marked since were not written after all (``inserts.first_then``
    behind a row that was there already)."""
    if before is None:
        conn.info.pop(PENDING, None)
    else:
        conn.info[PENDING] = before


def taken(conn: Connection, txn: Any) -> int | None:
    """The newest unsealed entry ``txn`` (just committed on ``conn``) wrote, if any."""
    held = conn.info.pop(PENDING, None)
    return held[1] if held is not None and held[0] is txn else None


@dataclass(frozen=True)
class Round:
    sealed: int  # entries this round chained
    through: int  # the newest sealed seq after it (0: nothing sealed yet)
    busy: bool = False  # another process was sealing: nothing done here
    # when complete: every entry committed before this moment (time.monotonic) is sealed
    covers: float | None = None


def seal_round(engine: Engine, wait_s: float = WAIT_S, *, close: bool = False) -> Round:
    """One round (see the module docstring); ``wait_s`` bounds the wait for running writers.
    ``close``: the engine's owner disposed of it; its connection is closed, not pooled."""
    pool = engine.pool
    with engine.connect() as conn:
        try:
            with conn.begin():
                return _round(conn, wait_s)
        finally:
            if close or engine.pool is not pool:  # disposed of before or during the round:
                conn.invalidate()  # close the connection, never left open in a dropped pool


def _round(conn: Connection, wait_s: float) -> Round:
    """The round's work in its transaction on ``conn``."""
    covers = time.monotonic()
    first = conn.execute(_START, {"k": SEAL_KEY}).all()
    mine, tail, upto = first[0][:3]
    if not mine:
        return Round(0, int(tail or 0), busy=True)
    if upto is None:
        return Round(0, int(tail or 0), covers=covers)
    rows = [r[3:] for r in first if r[3] is not None]
    if not _gapless(rows, upto):
        # a number up to S is not there: still being written, or rolled back. Wait for the
        # writers running now, then read again: after that nothing can join up to S
        deadline = time.monotonic() + wait_s
        running = list(conn.execute(_RUNNING).scalars())
        while running:
            if time.monotonic() >= deadline:
                return Round(0, int(tail or 0))
            running = list(conn.execute(_STILL, {"xids": running}).scalars())
            if running:
                time.sleep(0.002)  # each look is a statement: not too often
        rows = [tuple(r) for r in conn.execute(_ROWS, {"upto": upto})]
    # the snapshot may predate the previous round's commit: its seals are made again here,
    # identically (same tail, entries and order), and the UPDATE skips rows already sealed
    tail_row = next((r for r in rows if r[4] is not None), None)
    through, prev = (int(tail_row[0]), tail_row[4]) if tail_row else (0, chain.GENESIS)
    sealed: dict[str, list[Any]] = {"s": [], "p": [], "h": []}
    for seq, entry_type, subject_id, body, digest in rows:
        if digest is None and seq > through:  # one below the tail is not ours: verify says
            prev_hash, prev = prev, chain.entry_hash(prev, entry_type, subject_id, body)
            sealed["s"].append(int(seq))
            sealed["p"].append(prev_hash)
            sealed["h"].append(prev)
    if sealed["s"]:
        through = sealed["s"][-1]
        conn.execute(_SEAL, {**sealed, "through": through, "head": prev})
    return Round(len(sealed["s"]), through, covers=covers)


def _disconnected(exc: SQLAlchemyError) -> bool:
    """The round failed on a connection the server had dropped (SQLAlchemy then discards it and
    every older one in its pool), not on a database that refuses now."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _gapless(rows: list[Any], upto: int) -> bool:
    """Every number from the tail's to S is there: the entries up to S are all committed."""
    seqs = [int(r[0]) for r in rows]
    return bool(seqs) and seqs == list(range(seqs[0], int(upto) + 1)) and rows[0][4] is not None


def unsealed(engine_or_conn: Engine | Connection) -> int:
    """How many entries wait to be sealed (for ``verify`` and ``/metrics``)."""
    query = select(func.count()).where(_le.hash.is_(None))
    if isinstance(engine_or_conn, Connection):
        return int(engine_or_conn.execute(query).scalar_one())
    with engine_or_conn.connect() as conn:
        return int(conn.execute(query).scalar_one())


class _Sealer:
    """The background sealer of one process and engine: a thread woken by the writers' commits
    (``committed``) that seals in rounds, each round everything committed so far, until it has
    sealed every commit it was told of. It stops after ``IDLE_S`` without work and is started
    again by the next commit. A round that fails is tried again (at once after a dropped
    connection, then backing off to 2 s) for ``GIVE_UP_S``, so a database restart does not leave
    the last commits before it waiting for the next one. A round for commits begins
    ``GATHER_S`` after the oldest of them, so it seals the entries of those that follow too (a
    round's fixed cost, four round trips, is then paid once for several); a round for
    ``settle`` begins at once."""

    IDLE_S = 30.0
    GATHER_S = 0.02
    GIVE_UP_S = 60.0  # rounds failing this long: the thread stops (the next commit restarts it)

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.covers = 0.0  # every entry committed before this moment (time.monotonic) is sealed
        self.wanted = 0.0  # the newest commit (or ``settle``) a round must begin after
        self.waiting: deque[float] = deque()  # commits not covered yet, for the seal lag
        self.failed = 0.0  # when a round last failed (it is tried again: ``GIVE_UP_S``)
        self.disposed = False  # the owner disposed of the engine: rounds close their connection
        self.hurry = False  # a ``settle`` waits: the next round begins without gathering
        self.thread: threading.Thread | None = None

    def _note(self, lap: Round) -> None:
        """With ``self.cond`` held: what a round saw; each commit it covers is observed."""
        if lap.covers is not None and lap.covers > self.covers:
            self.covers = lap.covers
            now = time.monotonic()
            while self.waiting and self.waiting[0] < lap.covers:
                metrics.SEAL_LAG.observe(now - self.waiting.popleft())
        self.cond.notify_all()

    def want(self, engine: Engine, commit: bool) -> float:
        """With ``self.cond`` held: a round must begin after now (a commit: also its lag)."""
        now = time.monotonic()
        if commit:
            self.waiting.append(now)
        else:
            self.hurry = True
        self.wanted = max(self.wanted, now)
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._background, args=(engine,),
                                           name="refunds-sealer", daemon=True)
            self.thread.start()
        self.cond.notify_all()
        return now

    def _background(self, engine: Engine) -> None:
        pause = 0.001
        failing_since, backoff, retry = 0.0, 0.05, 0  # rounds failing in a row
        while True:
            with self.cond:
                idle_until = time.monotonic() + self.IDLE_S
                while self.covers > self.wanted:
                    if time.monotonic() > idle_until:
                        self.thread = None
                        return
                    self.cond.wait(1.0)
                begin = (self.waiting[0] if self.waiting else 0.0) + self.GATHER_S
                while not self.hurry and (left := begin - time.monotonic()) > 0:
                    self.cond.wait(left)
                self.hurry = False
            try:
                lap = seal_round(engine, close=self.disposed)
            except SQLAlchemyError as exc:
                with self.cond:
                    self.failed = time.monotonic()
                    self.cond.notify_all()
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= self.GIVE_UP_S:
                    log.warning("the background sealer stops: %s", exc)
                    with self.cond:
                        self.thread = None
                        self.cond.notify_all()
                    return
                # a connection the server dropped (a restart) is discarded with its pool's
                # older ones: the next round takes a fresh one at once; otherwise back off
                wait = 0.0 if retry == 0 and _disconnected(exc) else backoff
                log.log(logging.DEBUG if retry else logging.WARNING,  # once per outage
                        "a sealing round failed (trying again in %.2f s): %s", wait, exc)
                time.sleep(wait)
                backoff, retry = min(backoff * 2, 2.0), retry + 1
                continue
            failing_since, backoff, retry = 0.0, 0.05, 0
            with self.cond:
                self._note(lap)
            if lap.covers is None:  # another process seals, or writers were slow: again soon
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
            else:
                pause = 0.001

    def settle(self, engine: Engine, wait_s: float) -> bool:
        """Wait until a round begun after now is done (True), at most ``wait_s`` (False)."""
        with self.cond:
            since = self.want(engine, commit=False)
            deadline = since + wait_s
            while self.covers <= since:
                left = deadline - time.monotonic()
                if left <= 0 or self.failed > since:
                    return False
                if self.thread is None or not self.thread.is_alive():
                    self.want(engine, commit=False)
                self.cond.wait(min(left, 0.5))
            return True


_SEALERS: weakref.WeakKeyDictionary[Engine, _Sealer] = weakref.WeakKeyDictionary()
_MADE = threading.Lock()


def _sealer(engine: Engine) -> _Sealer:
    with _MADE:
        sealer = _SEALERS.get(engine)
        if sealer is None:
            sealer = _SEALERS[engine] = _Sealer()
            event.listen(engine, "engine_disposed", lambda _engine: _disposed(sealer))
    return sealer


def _disposed(sealer: _Sealer) -> None:
    """The engine's owner is done with it (a stop, a test): what is owed is still sealed, but
    no round leaves a connection in its pool (nobody would close it)."""
    sealer.disposed = True


def committed(engine: Engine) -> None:
    """``write_tx``: a transaction that wrote journal entries has committed. Its process's
    background sealer seals them shortly; the writer is answered at once, sealed or not."""
    sealer = _sealer(engine)
    with sealer.cond:
        sealer.want(engine, commit=True)


def settle(engine: Engine, wait_s: float = WAIT_S) -> bool:
    """Seal every entry committed before this call (this process's and any other's; it waits for
    the writers in flight): True once done, False if it could not within ``wait_s`` (another
    process sealing all along, writers still running, the database refusing). SQLite: True."""
    if engine.dialect.name != "postgresql":
        return True
    return _sealer(engine).settle(engine, wait_s)


@atexit.register
def _flush() -> None:
    """A process that stops seals what it left to its background sealer (a gunicorn worker,
    ``refunds worker``, the CLI), so a clean stop leaves nothing waiting; a crash leaves it to
    the next round (any process's, or ``refunds ledger seal``)."""
    for engine, sealer in list(_SEALERS.items()):
        deadline = time.monotonic() + WAIT_S
        while sealer.wanted >= sealer.covers and time.monotonic() < deadline:
            try:
                lap = seal_round(engine, close=sealer.disposed)
            except SQLAlchemyError as exc:
                if _disconnected(exc):
                    continue  # a connection dropped earlier: the pool's next one is fresh
                break  # the database is gone or refuses: the next round seals them
            with sealer.cond:
                sealer._note(lap)
            if lap.covers is None:
                time.sleep(0.001)
