"""Group commit for SQLite: several threads' write transactions share one commit.

SQLite has one writer and each commit waits for an fsync (``synchronous=FULL``). Under load the
writers of a process queue here; the first opens a transaction (``BEGIN IMMEDIATE``, after the
``flock`` that queues the processes) and runs its work in it; each later member runs its own work
inside a ``SAVEPOINT`` on that connection, one after the other. A member whose work raises rolls
back only its own work: a later member its savepoint, the first the whole batch (nobody else's
work is in it yet; the next writer opens a new one). The last member (nobody else waiting, or
the batch full or old) commits, and only then does any member's ``write_tx`` return: nobody is
answered before its work is durable, and if the commit fails every member of the batch gets the
error (nothing of theirs was recorded).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

# on a batch's connection (``Connection.info``): BATCHED while the batch is open; BEFORE_COMMIT a
# callable the members' work left to run once, on the batch's last statement before its commit
# (the journal's seal record, which moves to the chain's tail: ``journal.append_entries``)
BATCHED = "group_commit.batched"
BEFORE_COMMIT = "group_commit.before_commit"
MAX_MEMBERS = 8  # a batch's first member waits for at most this many members' work
MAX_OPEN_S = 0.015  # and a batch takes no newcomers after this long


@dataclass(eq=False)
class _Batch:
    conn: Connection
    root: Any  # the RootTransaction
    opened: float
    members: int = 0
    broken: BaseException | None = None  # the connection's state is unknown: roll back all
    error: BaseException | None = None  # the commit failed (or the batch was rolled back)
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """One per engine and process (kept beside it, not holding it); ``member(engine)`` is
    ``write_tx`` for SQLite."""

    def __init__(self, lock_path: str | None) -> None:
        self.lock_path = lock_path
        self.cond = threading.Condition()
        self.busy = False  # a thread runs its work on the batch, or opens or finishes it
        self.runner = 0  # that thread's id, to refuse a nested write_tx instead of hanging
        self.waiting = 0
        self.batch: _Batch | None = None
        self.fd: int | None = None
        self.pid = 0

    def __del__(self) -> None:
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)

    @contextmanager
    def member(self, engine: Engine) -> Iterator[Connection]:
        me = threading.get_ident()
        with self.cond:
            if self.busy and self.runner == me:
                raise RuntimeError("write_tx inside write_tx on the same engine and thread")
            self.waiting += 1
            while self.busy:
                self.cond.wait()
            self.waiting -= 1
            self.busy, self.runner = True, me
            batch = self.batch
        if batch is None:
            try:
                batch = self.batch = self._open(engine)
            except BaseException:
                self._release_turn()
                raise
        batch.members += 1
        failed: BaseException | None = None
        if batch.members == 1:
            # the first member needs no savepoint: nobody else's work is in the batch yet, so
            # if it raises, the batch is rolled back whole and the next writer opens a new one
            try:
                yield batch.conn
            except BaseException as exc:
                batch.broken = failed = exc
        else:
            try:
                savepoint = batch.conn.begin_nested()
            except BaseException as exc:
                batch.broken = failed = exc
            else:
                try:
                    yield batch.conn
                except BaseException as exc:
                    failed = exc
                    try:
                        savepoint.rollback()
                    except BaseException as lost:
                        batch.broken = lost
                else:
                    try:
                        savepoint.commit()
                    except BaseException as exc:
                        batch.broken = failed = exc
        self._pass_on(batch)
        if failed is not None:
            raise failed
        if batch.error is not None:
            raise batch.error

    def _pass_on(self, batch: _Batch) -> None:
        """Hand the open batch to a waiting thread, or finish it; wait for its commit."""
        with self.cond:
            more = (
                batch.broken is None
                and self.waiting > 0
                and batch.members < MAX_MEMBERS
                and time.monotonic() - batch.opened < MAX_OPEN_S
            )
            if more:
                self.busy, self.runner = False, 0
                self.cond.notify()
            else:
                self.batch = None
        if more:
            batch.done.wait()
        else:
            self._finish(batch)

    def _open(self, engine: Engine) -> _Batch:
        self._flock()
        try:
            conn = engine.connect().execution_options(sqlite_write=True)
            try:
                root = conn.begin()
            except BaseException:
                conn.close()
                raise
            conn.info[BATCHED] = True
        except BaseException:
            self._unflock()
            raise
        return _Batch(conn, root, time.monotonic())

    def _finish(self, batch: _Batch) -> None:
        try:
            if batch.broken is not None:
                batch.error = batch.broken
                batch.root.rollback()
            else:
                last = batch.conn.info.pop(BEFORE_COMMIT, None)
                if last is not None:
                    last(batch.conn)
                batch.root.commit()
        except BaseException as exc:
            batch.error = batch.error or exc
            try:
                batch.root.rollback()
            except BaseException:  # the connection is discarded below either way
                batch.conn.invalidate()
        finally:
            batch.conn.info.pop(BATCHED, None)
            batch.conn.info.pop(BEFORE_COMMIT, None)
            batch.conn.close()
            self._unflock()
            batch.done.set()
            self._release_turn()

    def _release_turn(self) -> None:
        with self.cond:
            self.busy, self.runner = False, 0
            self.cond.notify()

    def _flock(self) -> None:
        """Processes take turns on an ``flock`` beside the database: SQLite's own busy handler
        sleeps up to 100 ms between retries. ``BEGIN IMMEDIATE`` still guards correctness."""
        if self.lock_path is None:
            return
        if self.fd is None or self.pid != os.getpid():  # a forked child needs its own file
            self.fd, self.pid = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def _unflock(self) -> None:
        if self.lock_path is not None and self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
