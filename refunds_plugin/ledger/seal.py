"""Sealing journal entries into the hash chain after commit, in ``seq`` order (PostgreSQL).

A writer on PostgreSQL inserts its entries with ``prev_hash`` and ``hash`` NULL: it reads no
chain tail and takes no lock that other orders share. Right after its commit, ``write_tx`` calls
``through(engine, seq)``: a round that waits for nobody seals the writer's entries (and every
other committed one) at once when it can; when another writer's entry is still in flight, or
another process is sealing (a try-lock), the writer's process's background sealer finishes the
job and the writer is answered at once (``_Sealer``).

A round may seal only entries no earlier entry can still join, so the chain is in ``seq``
order, exactly as when every writer appended under one lock, and ``chain.verify`` reads it the
same way. It notes S, the newest committed unsealed entry, then waits for the writing
transactions of this database that were running at that moment to end (``backend_xid`` in
``pg_stat_activity``, then each one's lock on its own id in ``pg_locks``; so the processes run
as one database role, or as one allowed to see the others'): every number up to S was drawn
by one of them or by one already ended, so after that each entry up to S is committed or will
never exist. It chains those after the sealed tail with ``chain.entry_hash``. (A writer holds
a transaction id from its first written row, and each writes its own row before its entry.)

SQLite has one writer at a time, so ``journal.append_entry`` chains there at once and nothing
waits here. An entry a crashed writer left unsealed is sealed by the next round (any writer's,
or ``refunds ledger seal``); ``refunds ledger verify`` says how many wait.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from refunds_plugin import metrics
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.tables import ledger_entries

log = logging.getLogger("refunds.ledger")
SEAL_KEY = 0x52_46_53_4C  # "RFSL": the sealer's advisory lock (never taken by a request)
WAIT_S = 5.0  # a writer waits at most this long for its entries' seal; later rounds still do it
PENDING = "journal_unsealed"  # conn.info: (transaction, its newest unsealed seq)

_le = ledger_entries.c
# One round trip: the try-lock; the chain's tail and S, the newest waiting entry; the waiting
# entries up to S with the tail's row, all in the statement's snapshot; and then (read after that
# snapshot, as the statement runs) the writing transactions of this database, not the server's.
# The seal's commit need not wait for its fsync: the entries are durable already, and a seal lost
# in a crash is made again identically (same entries, same order, same hashes) by the next round.
_START = text(
    "WITH s AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS quick, "
    "pg_try_advisory_xact_lock(:k) AS mine, "
    "(SELECT max(seq) FROM ledger_entries WHERE hash IS NOT NULL) AS tail, "
    "(SELECT max(seq) FROM ledger_entries WHERE hash IS NULL) AS upto, "
    "ARRAY(SELECT CAST(backend_xid AS text) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL "
    "AND pid <> pg_backend_pid()) AS running) "
    "SELECT s.mine, s.tail, s.upto, s.running, "
    "e.seq, e.entry_type, e.subject_id, e.body, e.hash "
    "FROM s LEFT JOIN ledger_entries e ON s.mine "
    "AND ((e.hash IS NULL AND e.seq <= s.upto) OR e.seq = s.tail) ORDER BY e.seq"
)
# still running: a transaction holds the lock on its own id until it has ended and is visible
# as ended to every later snapshot (pg_locks is read afresh each time; pg_stat_activity is not)
_STILL = text(
    "SELECT CAST(transactionid AS text) FROM pg_locks WHERE locktype = 'transactionid' "
    "AND granted AND CAST(transactionid AS text) = ANY(:xids)"
)
# the sealed tail and the waiting entries up to ``upto``, read once the writers have ended
_ROWS = text(
    "SELECT seq, entry_type, subject_id, body, hash FROM ledger_entries "
    "WHERE (hash IS NULL AND seq <= :upto) "
    "OR seq = (SELECT max(seq) FROM ledger_entries WHERE hash IS NOT NULL) ORDER BY seq"
)
_SEAL = (
    update(ledger_entries)
    .where(_le.seq == bindparam("s"), _le.hash.is_(None))
    .values(prev_hash=bindparam("p"), hash=bindparam("h"))
)


def pending(conn: Connection, seq: int) -> None:
    """``append_entry``: this transaction wrote entry ``seq``, not yet sealed."""
    conn.info[PENDING] = (conn.get_transaction(), seq)


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
    at: float = 0.0  # when it looked (time.monotonic): ``through`` is true as of then


def seal_round(engine: Engine, wait_s: float = WAIT_S) -> Round:
    """One round (see the module docstring); ``wait_s`` bounds the wait for running writers."""
    with engine.connect() as conn, conn.begin():
        covers = time.monotonic()
        first = conn.execute(_START, {"k": SEAL_KEY}).all()
        mine, tail, upto, running = first[0][:4]
        if not mine:
            return Round(0, int(tail or 0), busy=True, at=covers)
        if upto is None:
            return Round(0, int(tail or 0), covers=covers, at=covers)
        rows = [r[4:] for r in first if r[4] is not None]
        if not _gapless(rows, upto):
            # a number up to S is not there: still being written, or rolled back. Wait for the
            # writers running now, then read again: after that nothing can join up to S
            deadline = time.monotonic() + wait_s
            while running:
                if time.monotonic() >= deadline:
                    return Round(0, int(tail or 0), at=covers)
                running = list(conn.execute(_STILL, {"xids": running}).scalars())
                if running:
                    time.sleep(0.0005)
            rows = [tuple(r) for r in conn.execute(_ROWS, {"upto": upto})]
        # the snapshot may predate the previous round's commit: its seals are made again here,
        # identically (same tail, entries and order), and the UPDATE skips rows already sealed
        tail_row = next((r for r in rows if r[4] is not None), None)
        through, prev = (int(tail_row[0]), tail_row[4]) if tail_row else (0, chain.GENESIS)
        sealed: list[dict[str, Any]] = []
        for seq, entry_type, subject_id, body, digest in rows:
            if digest is None and seq > through:  # one below the tail is not ours: verify says
                prev_hash, prev = prev, chain.entry_hash(prev, entry_type, subject_id, body)
                sealed.append({"s": seq, "p": prev_hash, "h": prev})
        if sealed:
            conn.execute(_SEAL, sealed)
            through = int(sealed[-1]["s"])
    return Round(len(sealed), through, covers=covers, at=covers)


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
    """The writers of one process and engine. A writer runs a round that waits for nobody; if it
    cannot seal its entries that way (another writer's entry up to S is still in flight, or
    another process is sealing), it leaves them to this process's background sealer, which
    waits for those writers, and is answered at once. One writer runs a round at a time; the
    others wait for it, so writers one after the other are each answered sealed."""

    IDLE_S = 30.0  # the background sealer stops after this long without work

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = False
        self.sealed = 0  # the newest seq this process saw sealed
        self.seen = 0.0  # when it saw that (time.monotonic)
        self.covers = 0.0  # every entry committed before this moment is sealed
        self.wanted = 0.0  # the background sealer owes a round that begins after this
        self.thread: threading.Thread | None = None

    def _note(self, lap: Round) -> None:
        """With ``self.cond`` held: what a round saw."""
        if lap.at > self.seen:
            self.sealed, self.seen = lap.through, lap.at
        self.covers = max(self.covers, lap.covers or 0.0)
        self.cond.notify_all()

    def through(self, engine: Engine, seq: int) -> bool:
        committed = time.monotonic()  # the caller's commit is done: its entries are visible

        def done() -> bool:
            # by number, seen after this commit (a number seen before it may be of another
            # table's life: tests empty it), or, as an entry rolled back with its savepoint has
            # no number to reach, by a whole round that began after this commit
            return (self.seen > committed and self.sealed >= seq) or self.covers > committed

        with self.cond:
            deadline = committed + WAIT_S
            while self.busy and not done():
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    break
            if done():
                metrics.SEAL_LAG.observe(time.monotonic() - committed)
                return True
            if self.busy:
                self._later(engine, committed)
                return False
            self.busy = True
        try:
            lap = seal_round(engine, 0.0)
        except BaseException:
            with self.cond:
                self.busy = False
                self._later(engine, committed)
            raise
        with self.cond:
            self.busy = False
            self._note(lap)
            if done():
                metrics.SEAL_LAG.observe(time.monotonic() - committed)
                return True
            self._later(engine, committed)
        return False

    def _later(self, engine: Engine, since: float) -> None:
        """With ``self.cond`` held: the background sealer seals what was committed by ``since``."""
        self.wanted = max(self.wanted, since)
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._background, args=(engine,),
                                           name="refunds-sealer", daemon=True)
            self.thread.start()
        self.cond.notify_all()

    def _background(self, engine: Engine) -> None:
        while True:
            with self.cond:
                idle_until = time.monotonic() + self.IDLE_S
                while self.covers >= self.wanted:
                    if time.monotonic() > idle_until:
                        self.thread = None
                        return
                    self.cond.wait(1.0)
                owed = self.wanted
            try:
                lap = seal_round(engine)
            except SQLAlchemyError as exc:
                log.warning("the background sealer stops: %s", exc)
                with self.cond:
                    self.thread = None
                return
            with self.cond:
                self._note(lap)
                if lap.covers is not None and lap.covers >= owed:
                    metrics.SEAL_LAG.observe(time.monotonic() - owed)
            if lap.covers is None:
                time.sleep(0.001)  # another process seals, or writers were slow: again


_SEALERS: weakref.WeakKeyDictionary[Engine, _Sealer] = weakref.WeakKeyDictionary()
_MADE = threading.Lock()


def _sealer(engine: Engine) -> _Sealer:
    with _MADE:
        sealer = _SEALERS.get(engine)
        if sealer is None:
            sealer = _SEALERS[engine] = _Sealer()
    return sealer


def soon(engine: Engine) -> None:
    """Leave what is committed now to the background sealer (no waiting at all)."""
    sealer = _sealer(engine)
    with sealer.cond:
        sealer._later(engine, time.monotonic())


def through(engine: Engine, seq: int) -> bool:
    """Seal entry ``seq`` (and all committed before it) now if that waits for nobody: True;
    else leave it to the background sealer: False. The caller's work is committed either way."""
    sealer = _sealer(engine)
    try:
        return sealer.through(engine, seq)
    except SQLAlchemyError as exc:  # committed already: the answer stands, a later round seals
        log.warning("could not seal journal entry %s yet: %s", seq, exc)
        return False


@atexit.register
def _flush() -> None:
    """A process that stops seals what it left to its background sealer (a gunicorn worker,
    the CLI), so a clean stop leaves nothing waiting; a crash leaves it to the next round."""
    for engine, sealer in list(_SEALERS.items()):
        deadline = time.monotonic() + WAIT_S
        while sealer.wanted > sealer.covers and time.monotonic() < deadline:
            try:
                lap = seal_round(engine)
            except SQLAlchemyError:
                break  # the database is gone or refuses: the next writer's round seals them
            with sealer.cond:
                sealer._note(lap)
            time.sleep(0.001)
