"""Where one storefront event's time goes: the Flask test client in one thread on a SQLite file
(or, with ``--database postgresql``, a fresh PostgreSQL database; see ``bench_webhooks.py``).

Sends ``--pairs`` order.paid + return.requested pairs (the same events as bench_webhooks.py)
through ``create_app`` in-process, then drains the executor, and prints per event: wall time,
SQL statements and commits, for the receiver and for the executor separately, and of the
receiver's those sent from the requests' own thread (on PostgreSQL the rest are the background
sealer's rounds, which no request waits for). With ``--profile`` it also prints the cProfile top
functions by cumulative time.

    python bench/profile_webhooks.py --pairs 300
    python bench/profile_webhooks.py --pairs 300 --profile --top 40
    python bench/profile_webhooks.py --pairs 300 --database postgresql

Statements count every SQL statement sent (``BEGIN``/``COMMIT`` are not statements here but
commits are counted); on PostgreSQL each is a round trip to the server.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_webhooks import (  # noqa: E402
    SECRET,
    fresh_pg_database,
    order_event,
    return_event,
)
from refunds_plugin.ledger import seal  # noqa: E402
from webhooks import create_app  # noqa: E402
from webhooks.signatures import sign  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        self.caller = threading.get_ident()  # the requests' thread (the test client's)
        self.own_statements = 0  # of them, sent from that thread (not the background sealer)
        self.own_commits = 0
        self.locked = 0  # of them, inside a write transaction (on SQLite: the one write lock)
        self.commit_s = 0.0  # wall time inside the driver's COMMIT (the WAL flush / fsync)

    def attach(self, engine: Any) -> None:
        do_commit = engine.dialect.do_commit

        def timed(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                do_commit(dbapi_connection)
            finally:
                self.commit_s += time.perf_counter() - started

        engine.dialect.do_commit = timed

        @event.listens_for(engine, "before_cursor_execute")
        def _stmt(conn: Any, *_: Any) -> None:
            self.statements += 1
            mine = threading.get_ident() == self.caller
            self.own_statements += mine
            # ``write_tx`` marks its connection (``sqlite_write``) on both databases
            self.locked += mine and bool(conn.get_execution_options().get("sqlite_write"))

        @event.listens_for(engine, "commit")
        def _commit(*_: Any) -> None:
            self.commits += 1
            self.own_commits += threading.get_ident() == self.caller


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--warm", type=int, default=200, help="pairs sent before measuring")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="order of the --profile table")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.database == "postgresql":
        with fresh_pg_database() as url:
            return profile(args, url)
    return profile(args, f"sqlite:///{tempfile.mkdtemp(prefix='refunds-prof-')}/prof.db")


def profile(args: argparse.Namespace, url: str) -> int:
    app = create_app({"database_url": url, "storefront_secret": SECRET,
                      "log_level": "WARNING", "secret_key": "prof", "run_executor": True})
    runtime = app.extensions["refunds"]
    client = app.test_client()

    def send(n: int, prefix: str) -> None:
        for ev in (order_event(n, prefix), return_event(n, prefix)):
            body = json.dumps(ev).encode()
            resp = client.post("/webhooks/storefront", data=body, headers={
                "Content-Type": "application/json", "Refunds-Signature": sign(SECRET, body)})
            assert resp.status_code in (200, 201), resp.get_data(as_text=True)

    for n in range(args.warm):
        send(n, "warm")
    runtime.executor.drain()
    counter = Counter()
    counter.attach(runtime.engine)
    prof = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    for n in range(args.pairs):
        send(n, "run")
    receive, receive_cpu = time.perf_counter() - started, time.process_time() - cpu
    rs, rc, rcs = counter.statements, counter.commits, counter.commit_s
    own_s, own_c, locked = counter.own_statements, counter.own_commits, counter.locked
    began, cpu = time.perf_counter(), time.process_time()
    runtime.executor.drain()
    execute, execute_cpu = time.perf_counter() - began, time.process_time() - cpu
    if prof:
        prof.disable()
    events = 2 * args.pairs
    print(f"receiver: {events} events  {receive / events * 1000:.2f} ms/event "
          f"(CPU {receive_cpu / events * 1000:.2f} ms)  "
          f"{rs / events:.1f} statements/event  {rc / events:.2f} commits/event  "
          f"{rcs / events * 1000:.2f} ms/event in COMMIT")
    print(f"  on the request's thread: {own_s / events:.1f} statements/event "
          f"({locked / events:.1f} inside the write transaction)  "
          f"{own_c / events:.2f} commits/event (the rest: the background sealer, PostgreSQL)")
    print(f"executor: {args.pairs} attempts  {execute / args.pairs * 1000:.2f} ms/attempt "
          f"(CPU {execute_cpu / args.pairs * 1000:.2f} ms)  "
          f"{(counter.statements - rs) / args.pairs:.1f} statements/attempt  "
          f"{(counter.commits - rc) / args.pairs:.2f} commits/attempt")
    if prof:
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    if runtime.executor is not None:
        runtime.executor.stop(timeout=10)
    seal.settle(runtime.engine)  # sealed before the database is dropped, not at exit after it
    runtime.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
