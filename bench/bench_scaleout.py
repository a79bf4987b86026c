"""Scale-out on PostgreSQL: decision throughput for 1, 4 and 16 clients on different orders, with
the database "on another host" (``bench/delay_proxy.py`` adds 1 ms each way), and the share of
transaction time spent waiting for locks.

The service runs under gunicorn (``refunds serve --no-executor``: decisions only) on a fresh
database made on the server at ``REFUNDS_BENCH_PG_URL`` (default the local one, dropped after),
reached only through the proxy. Each client sends, for one new order after another, an
``order.paid`` and its ``return.requested`` (the load of ``bench_webhooks.py``): no two clients
ever touch one order, so with money checks serialised per order nothing should make them wait
for each other. A sampler on a direct connection reads ``pg_stat_activity`` every 2 ms: of the
backends inside a transaction, the share waiting for a lock (``wait_event_type = 'Lock'``: order
locks, row locks) is the lock-waiting share of transaction time. The baseline is the one-client
level of the same run.

    python bench/bench_scaleout.py                            # 1 ms each way, 10 s per level
    python bench/bench_scaleout.py --clients 1,4,16 --seconds 10 --workers 2 --threads 16
    python bench/bench_scaleout.py --compare-with /tmp/before  # also the code in that checkout

``--compare-with`` runs the same levels first against the service from another checkout (with
the global ledger lock, the code before issue 18) on its own fresh database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cpu_share  # noqa: E402
from bench.bench_webhooks import (  # noqa: E402
    ROOT,
    SECRET,
    Result,
    counts,
    drive,
    free_port,
    fresh_pg_database,
    like_autovacuum,
    stop,
    wait_ready,
)

SAMPLE = """SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
                  count(*) FILTER (WHERE state IN ('active', 'idle in transaction'))
           FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND backend_type = 'client backend'"""


class LockSampler:
    """Samples, on a direct connection, how many backends wait for a lock and how many are in
    a transaction; ``share`` is the first summed over the second."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.waiting = self.busy = 0
        self.backend = 0  # its server process: not the service's load (``cpu_share``)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            self.backend = conn.info.backend_pid
            while not self._stop.is_set():
                waiting, busy = conn.execute(SAMPLE).fetchone() or (0, 0)
                self.waiting += int(waiting)
                self.busy += int(busy)
                time.sleep(0.002)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def share(self) -> float:
        return self.waiting / self.busy if self.busy else 0.0


def proxied(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def run_tree(label: str, tree: Path, args: argparse.Namespace) -> dict[int, tuple[Result, float]]:
    """Every level against the service as the code in ``tree`` has it, on its own database."""
    levels: dict[int, tuple[Result, float]] = {}
    with fresh_pg_database() as url:
        target = make_url(url)
        proxy = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "delay_proxy.py"), "--target",
             f"{target.host or '127.0.0.1'}:{target.port or 5432}", "--delay-ms",
             str(args.delay_ms)], stdout=subprocess.PIPE, start_new_session=True)
        assert proxy.stdout is not None
        proxy_port = int(proxy.stdout.readline())
        port = free_port()
        env = {**os.environ, "REFUNDS_DATABASE_URL": proxied(url, proxy_port),
               "REFUNDS_STOREFRONT_SECRET": SECRET, "REFUNDS_LOG_LEVEL": "WARNING",
               "REFUNDS_SECRET_KEY": "bench-only", "PYTHONPATH": str(tree)}
        env.pop("REFUNDS_STRIPE_API_KEY", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "refunds_plugin.cli", "serve", "--no-executor", "--port",
             str(port), "--workers", str(args.workers), "--threads", str(args.threads)],
            env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            wait_ready(port, server, timeout=120)  # it migrates the empty database first
            for clients in args.clients:
                drive("warm", port, args.warmup, clients, f"w{clients}")
                note = args.analyze and like_autovacuum(url)
                if note and clients == args.clients[0]:
                    print(f"{label}: {note} (and after each level's)", flush=True)
                before = cpu_share.snapshot() if args.cpu else None
                with LockSampler(url) as sampler:
                    result = drive(f"{clients} cl", port, args.seconds, clients, f"c{clients}")
                    if before is not None:  # while the sampler's server process is there
                        result.cpu.update(cpu_share.share(before, cpu_share.snapshot(),
                                                          server.pid, proxy.pid,
                                                          skip={sampler.backend}))
                levels[clients] = (result, sampler.share)
                decisions = len(result.latencies) / 2 / result.seconds
                print(f"{label:7s} {clients:3d} client(s): {decisions:8.1f} decisions/s  "
                      f"({result.rate:7.1f} events/s)  p50 {result.pct(0.5):6.2f} ms  "
                      f"p99 {result.pct(0.99):6.2f} ms  lock waiting {sampler.share:6.1%} of "
                      f"transaction time  failed {len(result.failures)}", flush=True)
                for line in cpu_share.lines(result.cpu, len(result.latencies), result.seconds):
                    print(line, flush=True)
                if result.failures:
                    print(f"  first failures: {result.failures[:3]}", flush=True)
        finally:
            err = stop(server)
            proxy.terminate()
            proxy.wait(10)
        if any(r.failures for r, _ in levels.values()):
            print(f"server stderr: {err[-2000:]}")
    return levels


def summary(label: str, levels: dict[int, tuple[Result, float]]) -> str:
    low, high = min(levels), max(levels)
    gain = levels[high][0].rate / levels[low][0].rate if levels[low][0].rate else 0.0
    waits = max(share for _, share in levels.values())
    met = gain >= 6 and waits < 0.10
    return (f"{label}: ratio {high} clients / {low}: {gain:.2f}  most lock waiting {waits:.1%}  "
            f"({'meets' if met else 'misses'} the target: 16 clients >= 6 x one, lock waiting "
            "< 10% of transaction time)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=counts, default=[1, 4, 16], help="levels, e.g. 1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per level")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added each way")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=16, help="gunicorn threads per worker")
    parser.add_argument("--cpu", action="store_true",
                        help="also print CPU per event of the service, the database server, the "
                             "load generator and the delay proxy")
    parser.add_argument("--compare-with", type=Path, default=None, metavar="TREE",
                        help="also run the service from another checkout first (e.g. the code "
                             "before issue 18: git worktree add /tmp/before 9406736)")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="do not analyse the database after each warm-up when the server's "
                             "autovacuum is off")
    args = parser.parse_args()
    print(f"PostgreSQL behind {args.delay_ms:g} ms each way; gunicorn gthread "
          f"workers={args.workers} threads={args.threads}; {args.seconds:.0f} s per level "
          f"after {args.warmup:.0f} s warm-up; cpus={os.cpu_count()}", flush=True)
    runs: list[tuple[str, dict[int, tuple[Result, float]]]] = []
    if args.compare_with is not None:
        runs.append(("before", run_tree("before", args.compare_with.resolve(), args)))
    runs.append(("this", run_tree("this", ROOT, args)))
    for label, levels in runs:
        print(summary(label, levels))
    return 1 if any(r.failures for _, lv in runs for r, _ in lv.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
