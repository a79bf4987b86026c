"""The floor: the least any receiver honouring the webhook contract must do, for bench_webhooks.py.

DESIGN.md's contract for ``POST /webhooks/storefront`` is: verify the signature on the raw body,
parse with marshmallow, and answer 2xx only once the event is durably recorded (SQLite, WAL,
``synchronous=FULL``). This app does exactly that and nothing more: no facts, no policy, no
decision, no journal, no executor. It records each event in a one-table inbox (unique per source
and event id) with the raw ``sqlite3`` driver, and it group-commits: one writer thread per process
gathers the waiting events (up to ``GATHER_S`` for a fuller batch), takes a ``flock`` shared by the
processes, inserts them and commits once. The request thread answers after that commit.

It is a ceiling for the real service, not a product: whatever the service does on top costs more.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

from flask import Flask, request

from webhooks import signatures
from webhooks.schemas import parse_json
from webhooks.storefront import ENVELOPE, HEADER, ORDER_DATA, RETURN_DATA

GATHER_S = 0.001  # how long the writer waits for a fuller batch (best of 0, 0.5, 1, 2 ms here)
GATHER_MIN = 6  # stop waiting once this many events are queued
SCHEMA = ("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, source TEXT NOT NULL, "
          "event_id TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, "
          "UNIQUE (source, event_id))")
INSERT = ("INSERT INTO events (source, event_id, type, payload) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (source, event_id) DO NOTHING")


class Inbox:
    """Group commit: callers block in ``record`` until the batch holding their row is on disk."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cv = threading.Condition()
        self.queue: list[tuple[tuple[str, str, str, str], list[BaseException | None]]] = []
        self.writer: threading.Thread | None = None
        self.lock_file = open(path + ".lock", "a+")  # noqa: SIM115 - held for the process's life

    def record(self, row: tuple[str, str, str, str]) -> None:
        outcome: list[BaseException | None] = []
        with self.cv:
            if self.writer is None:
                self.writer = threading.Thread(target=self._write, daemon=True)
                self.writer.start()
            self.queue.append((row, outcome))
            self.cv.notify_all()
            while not outcome:
                self.cv.wait()
        if outcome[0] is not None:
            raise outcome[0]

    def _write(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL, as the service runs; --floor-synchronous only to see what the fsync costs
        conn.execute(f"PRAGMA synchronous={os.environ.get('FLOOR_SYNCHRONOUS', 'FULL')}")
        while True:
            with self.cv:
                while not self.queue:
                    self.cv.wait()
                deadline = time.monotonic() + GATHER_S
                while len(self.queue) < GATHER_MIN and (left := deadline - time.monotonic()) > 0:
                    self.cv.wait(left)
                batch, self.queue = self.queue, []
            error: BaseException | None = None
            fcntl.flock(self.lock_file, fcntl.LOCK_EX)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(INSERT, [row for row, _ in batch])
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                error = exc
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            finally:
                fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            with self.cv:
                for _, outcome in batch:
                    outcome.append(error)
                self.cv.notify_all()


def floor_app() -> Flask:
    """For gunicorn: ``bench.floor_app:floor_app()``; needs ``FLOOR_DB`` and the secret."""
    path = os.environ["FLOOR_DB"]
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    inbox = Inbox(path)
    secret = os.environ["REFUNDS_STOREFRONT_SECRET"]
    app = Flask("floor")

    @app.post("/webhooks/storefront")
    def receive() -> tuple[dict[str, Any], int]:
        body = request.get_data(cache=False)
        signatures.verify(body, request.headers.get(HEADER), [secret], header_name=HEADER)
        envelope = ENVELOPE.load(parse_json(body))
        (ORDER_DATA if envelope["type"] == "order.paid" else RETURN_DATA).load(envelope["data"])
        inbox.record(("storefront", envelope["id"], envelope["type"], body.decode("utf-8")))
        return {"received": True}, 200

    return app
