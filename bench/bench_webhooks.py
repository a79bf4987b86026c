"""Webhook throughput: this service under gunicorn on SQLite (and PostgreSQL) against a bare
Flask endpoint and the floor.

All run under the same gunicorn settings (gthread, ``--workers``, ``--threads``) on loopback and
get the same concurrent load of freshly signed storefront events: for each new order an
``order.paid`` followed by a ``return.requested`` (unique ids, so every event is decided and
recorded, not deduplicated). The bare endpoint only reads the body. The floor
(``bench/floor_app.py``) does only what the webhook contract requires of any receiver: verify,
parse with marshmallow, record the event durably (SQLite WAL, ``synchronous=FULL``, group commit)
before answering; it shows how close to the bare endpoint any implementation could get on this
machine. Prints events/s and p50/p99 latency for each and the ratios; exits 1 if any request
failed.

``--database postgresql`` also runs the service on PostgreSQL (a fresh database made on the
server at ``REFUNDS_BENCH_PG_URL``, default the local one, dropped after), beside the SQLite
service as its baseline. ``--workers 1,2`` runs every target once per gunicorn worker count and
prints how each scales.

Every target, of every worker count, is served at the same time and loaded in turn,
``--rounds`` times (default 3), each for ``--seconds / --rounds`` a round: the machine's speed
drifts over minutes, and this way every target gets a share of each stretch, so their ratios
(the floor's, PostgreSQL's against SQLite's, two workers' against one) compare like with like.
On PostgreSQL, when the server's autovacuum is off, each database is analysed after the
warm-up, as autovacuum would have (``--no-analyze`` measures a database never analysed). A
target's background work (the service's executor finishing its queue) may run into the next
target's turn; it is small beside the load. With ``--cpu``, "database server" is every
PostgreSQL process: with two worker counts, the idle PostgreSQL service's executor and sealer
polling its own database are counted in the loaded one's share.

    python bench/bench_webhooks.py                   # 20 s per target, 16 client threads
    python bench/bench_webhooks.py --seconds 20 --clients 32 --workers 2 --threads 8
    python bench/bench_webhooks.py --database postgresql --workers 1,2
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import cpu_share  # noqa: E402
from webhooks.signatures import sign  # noqa: E402

SECRET = "whsec_bench"
ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("REFUNDS_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_pg_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; its URL; dropped afterwards."""
    name = f"refunds_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def like_autovacuum(url: str) -> str | None:
    """``ANALYZE`` the database of ``url`` once if its server's autovacuum is off, as autovacuum
    would have by now (it analyses a table once 50 rows + 10% of it changed, at most a minute
    apart, and again as it grows: the bench does not);
    what was done, for the report. Without statistics PostgreSQL plans some lookups as reads of
    the whole table, and a prepared statement keeps such a plan as the table grows: this
    machine's CI server runs with autovacuum off, no production server should."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SHOW autovacuum")).scalar_one() == "on":
                return None
            conn.execute(text("ANALYZE"))
            return "the server's autovacuum is off: the database was analysed after the warm-up"
    finally:
        engine.dispose()


def bare_app() -> Flask:
    """The baseline: a Flask endpoint that reads the body and answers, nothing else."""
    app = Flask("bare")

    @app.post("/webhooks/storefront")
    def receive() -> tuple[dict[str, Any], int]:
        request.get_data(cache=False)
        return {"received": True}, 200

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def order_event(n: int, prefix: str) -> dict[str, Any]:
    return {"id": f"evt_{prefix}_paid_{n}", "type": "order.paid", "created": 1764000000,
            "data": {"order": {
                "id": f"{prefix}-{n}", "currency": "USD", "paid_at": "2026-11-01T10:00:00Z",
                "customer": {"id": f"c-{n}", "email": f"c{n}@example.com"},
                "lines": [{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2,
                           "unit_amount": 2500, "tags": []}],
                "shipping_amount": 500, "total_amount": 5500,
                "payment": {"provider": "stripe", "reference": f"pi_{prefix}_{n}"}}}}


def return_event(n: int, prefix: str) -> dict[str, Any]:
    return {"id": f"evt_{prefix}_ret_{n}", "type": "return.requested", "created": 1764000100,
            "data": {"return": {"id": f"r-{prefix}-{n}", "order_id": f"{prefix}-{n}",
                                "lines": [{"line_id": "l1", "quantity": 1,
                                           "reason": "changed_mind"}],
                                "preferred_resolution": "refund"}}}


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    cpu: Counter[str] = field(default_factory=Counter)  # CPU seconds by group (``--cpu``)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def line(self) -> str:
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else 0.0
        return (f"{self.name:8s} {len(self.latencies):7d} events in {self.seconds:5.1f} s  "
                f"{self.rate:8.1f} events/s  p50 {self.pct(0.50):6.2f} ms  "
                f"p99 {self.pct(0.99):6.2f} ms  mean {mean:6.2f} ms  "
                f"failed {len(self.failures)}")


def drive(name: str, port: int, seconds: float, clients: int, prefix: str) -> Result:
    """``clients`` threads, each on one keep-alive connection, send order/return pairs."""
    stop = time.monotonic() + seconds
    result = Result(name, seconds)
    lock = threading.Lock()
    counter = iter(range(10**9))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad: list[str] = []
        while time.monotonic() < stop:
            with lock:
                n = next(counter)
            for event in (order_event(n, prefix), return_event(n, prefix)):
                body = json.dumps(event).encode()
                headers = {"Content-Type": "application/json",
                           "Refunds-Signature": sign(SECRET, body)}
                started = time.perf_counter()
                try:
                    conn.request("POST", "/webhooks/storefront", body, headers)
                    resp = conn.getresponse()
                    payload = resp.read()
                except (OSError, http.client.HTTPException) as exc:
                    bad.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                elapsed = time.perf_counter() - started
                if resp.status not in (200, 201):
                    bad.append(f"{resp.status}: {payload[:200]!r}")
                else:
                    mine.append(elapsed)
        conn.close()
        with lock:
            result.latencies.extend(mine)
            result.failures.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - began
    return result


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start within {timeout} s")


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


def run_targets(targets: list[tuple[str, list[str], dict[str, str]]],
                args: argparse.Namespace) -> list[Result]:
    """Every target served at once, each warmed, then loaded in turn for ``--rounds`` rounds of
    ``seconds / rounds``: the machine's speed drifts over minutes, so each target gets its share
    of every stretch and the ratios printed compare the same moments."""
    procs, ports = [], []
    try:
        for _, argv, env in targets:
            port = free_port()
            procs.append(start([part.replace("{port}", str(port)) for part in argv], env))
            ports.append(port)
        for (name, _, _), port, proc in zip(targets, ports, procs, strict=True):
            wait_ready(port, proc)
            drive(name, port, args.warmup, args.clients, f"{name}w".replace(" ", ""))
        for name, _, env in targets:
            url = env.get("REFUNDS_DATABASE_URL", "")
            note = url.startswith("postgresql") and args.analyze and like_autovacuum(url)
            if note:
                print(f"{name}: {note}", flush=True)
        results = [Result(name, 0.0) for name, _, _ in targets]
        for r in range(args.rounds):
            for (name, _, _), port, total, proc in zip(targets, ports, results, procs,
                                                       strict=True):
                before = cpu_share.snapshot() if args.cpu else None
                part = drive(name, port, args.seconds / args.rounds, args.clients,
                             f"{name}{r}".replace(" ", ""))
                if before is not None:
                    total.cpu.update(cpu_share.share(before, cpu_share.snapshot(), proc.pid))
                total.seconds += part.seconds
                total.latencies.extend(part.latencies)
                total.failures.extend(part.failures)
    finally:
        errors = [stop(proc) for proc in procs]
    for result, err in zip(results, errors, strict=True):
        print(result.line(), flush=True)
        for line in cpu_share.lines(result.cpu, len(result.latencies), result.seconds):
            print(line, flush=True)
        if result.failures:
            print(f"  first failures: {result.failures[:3]}\n  server stderr: {err[-2000:]}",
                  flush=True)
    return results


def counts(text_: str) -> list[int]:
    return [int(part) for part in text_.split(",") if part.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="load per target")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="load the targets in turn this many times (each gets seconds/rounds "
                             "a round), so a drift in the machine's speed reaches all of them")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--workers", type=counts, default=[2],
                        help="gunicorn workers (every target); a list (1,2) sweeps")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads (both)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: the service on a fresh PostgreSQL database too, with "
                             "the SQLite service as its baseline")
    parser.add_argument("--cpu", action="store_true",
                        help="also print each target's CPU per event: its own processes, the "
                             "database server, this load generator, the rest (Linux /proc)")
    parser.add_argument("--floor-synchronous", default="FULL", choices=["FULL", "NORMAL", "OFF"],
                        help="the floor's SQLite synchronous mode (diagnosis only: the service "
                             "always runs FULL)")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="PostgreSQL: do not analyse the database after the warm-up when the "
                             "server's autovacuum is off (measures a database that never has "
                             "statistics)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="refunds-bench-")
    base_env = {**os.environ, "REFUNDS_STOREFRONT_SECRET": SECRET, "REFUNDS_LOG_LEVEL": "WARNING",
                "REFUNDS_SECRET_KEY": "bench-only", "PYTHONPATH": str(ROOT),
                "FLOOR_SYNCHRONOUS": args.floor_synchronous}
    base_env.pop("REFUNDS_STRIPE_API_KEY", None)  # dry run: the executor records, no money moves
    print(f"gunicorn gthread workers={','.join(map(str, args.workers))} threads={args.threads}; "
          f"{args.clients} client threads; {args.seconds:.0f} s per target after "
          f"{args.warmup:.0f} s warm-up, in {args.rounds} rounds taken in turn; "
          f"SQLite under {tmp}; database={args.database}; "
          f"floor synchronous={args.floor_synchronous}; cpus={os.cpu_count()}", flush=True)
    results: dict[tuple[str, int], Result] = {}
    # every target of every worker count up at once and loaded in turn, round after round: the
    # machine's speed drifts over minutes, and "2 workers / 1" must compare the same moments
    # (swept one count after the other, a slow minute made the ratio 2.4 in one run, 1.5 in
    # the next)
    with ExitStack() as stack:
        targets, keys = [], []
        for workers in args.workers:
            gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                        "--threads", str(args.threads), "--worker-class", "gthread",
                        "--log-level", "warning", "--bind", "127.0.0.1:{port}"]
            service = [sys.executable, "-m", "refunds_plugin.cli", "serve", "--port", "{port}",
                       "--workers", str(workers), "--threads", str(args.threads)]
            env = {**base_env, "REFUNDS_DATABASE_URL": f"sqlite:///{tmp}/bench-{workers}.db",
                   "FLOOR_DB": f"{tmp}/floor-{workers}.db"}
            tag = f" w{workers}" if len(args.workers) > 1 else ""
            mine = [(name, argv, env) for name, argv in (
                ("bare", gunicorn + ["bench.bench_webhooks:bare_app()"]),
                ("floor", gunicorn + ["bench.floor_app:floor_app()"]),
                ("service", service))]
            if args.database == "postgresql":
                url = stack.enter_context(fresh_pg_database())
                mine.append(("postgres", service, {**env, "REFUNDS_DATABASE_URL": url}))
            targets += [(name + tag, argv, env) for name, argv, env in mine]
            keys += [(name, workers) for name, _, _ in mine]
        for key, result in zip(keys, run_targets(targets, args), strict=True):
            results[key] = result
    for workers in args.workers:
        report(results, workers, args)
    sweep(results, args.workers)
    return 1 if any(r.failures for r in results.values()) else 0


def ratio(a: Result, b: Result) -> float:
    return a.rate / b.rate if b.rate else 0.0


def report(results: dict[tuple[str, int], Result], workers: int, args: argparse.Namespace
           ) -> None:
    bare, floor = results[("bare", workers)], results[("floor", workers)]
    service = results[("service", workers)]
    print(f"-- {workers} worker(s)")
    floor_note = ("the most a receiver that records durably reached here"
                  if args.floor_synchronous == "FULL" else
                  f"synchronous={args.floor_synchronous}: NOT durable, diagnosis only")
    print(f"ratio floor/bare throughput {ratio(floor, bare):.2f}  floor p99 "
          f"{floor.pct(0.99):.2f} ms  ({floor_note})")
    print(f"ratio service/bare throughput {ratio(service, bare):.2f}  service p99 "
          f"{service.pct(0.99):.2f} ms")
    met = ratio(service, floor) >= 0.5 and service.pct(0.99) < 50
    print(f"ratio service/floor throughput {ratio(service, floor):.2f}  service p99 "
          f"{service.pct(0.99):.2f} ms  ({'meets' if met else 'misses'} the SQLite target: "
          ">= 0.50 x the floor and p99 < 50 ms)")
    postgres = results.get(("postgres", workers))
    if postgres is not None:
        met = ratio(postgres, service) >= 1.0
        print(f"ratio postgres/sqlite service throughput {ratio(postgres, service):.2f}  "
              f"postgres p99 {postgres.pct(0.99):.2f} ms  ({'meets' if met else 'misses'} the "
              "target: PostgreSQL >= the SQLite service)")


def sweep(results: dict[tuple[str, int], Result], workers: list[int]) -> None:
    if len(workers) < 2:
        return
    low, high = min(workers), max(workers)
    for name in ("bare", "floor", "service", "postgres"):
        if (name, low) in results and (name, high) in results:
            gain = ratio(results[(name, high)], results[(name, low)])
            target = "  (target for postgres 1 -> 2 workers: >= 1.3)" if name == "postgres" else ""
            print(f"scaling {name}: {high} workers / {low} = {gain:.2f}{target}")


if __name__ == "__main__":
    sys.exit(main())
