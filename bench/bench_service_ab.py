"""The service alone on SQLite (or PostgreSQL), this checkout against another tree, in
alternating runs.

Each run starts ``refunds serve`` (gunicorn gthread, ``--workers``, ``--threads``, dry run) from
one tree on a fresh SQLite file (``--database postgresql``: a fresh database on the local
server, analysed after the warm-up if the server's autovacuum is off, as in
``bench_webhooks.py``), warms it, drives it with ``bench_webhooks.py``'s load (signed
order/return pairs, ``--clients`` keep-alive threads) for ``--seconds``, and stops it. The two
trees take turns, ``--pairs`` times, so a drift in the machine's speed reaches both; the last
line is each tree's mean and the ratio. A diagnosis of the service's own rate: no bare endpoint
and no floor (``bench_webhooks.py`` has those).

    git worktree add /tmp/before <commit>
    python bench/bench_service_ab.py --compare-with /tmp/before --pairs 4
    python bench/bench_service_ab.py --compare-with /tmp/before --database postgresql --workers 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_webhooks import (  # noqa: E402
    SECRET,
    drive,
    free_port,
    fresh_pg_database,
    like_autovacuum,
    start,
    stop,
    wait_ready,
)

ROOT = Path(__file__).resolve().parents[1]


def one_run(tree: Path, args: argparse.Namespace, name: str) -> float:
    """Events/s of the service of ``tree`` in one run (exits if a request failed)."""
    with ExitStack() as stack:
        url = (stack.enter_context(fresh_pg_database()) if args.database == "postgresql"
               else f"sqlite:///{tempfile.mkdtemp(prefix='refunds-ab-')}/bench.db")
        env = {**os.environ, "REFUNDS_STOREFRONT_SECRET": SECRET, "REFUNDS_LOG_LEVEL": "WARNING",
               "REFUNDS_SECRET_KEY": "bench-only", "PYTHONPATH": str(tree),
               "REFUNDS_DATABASE_URL": url}
        env.pop("REFUNDS_STRIPE_API_KEY", None)  # dry run: the executor records, no money moves
        port = free_port()
        proc = start([sys.executable, "-m", "refunds_plugin.cli", "serve", "--port", str(port),
                      "--workers", str(args.workers), "--threads", str(args.threads)], env)
        try:
            wait_ready(port, proc)
            drive(name, port, args.warmup, args.clients, "warm")
            if args.database == "postgresql" and args.analyze and (note := like_autovacuum(url)):
                print(f"{name}: {note}", flush=True)
            result = drive(name, port, args.seconds, args.clients, "run")
        finally:
            err = stop(proc)
    print(result.line(), flush=True)
    if result.failures:
        raise SystemExit(f"{name}: {result.failures[:3]}\n{err[-2000:]}")
    return result.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--compare-with", required=True, type=Path, help="the other tree")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="PostgreSQL: do not analyse the database after the warm-up when the "
                             "server's autovacuum is off")
    args = parser.parse_args()
    other = args.compare_with.resolve()
    print(f"service alone on {args.database}, {args.workers} workers x {args.threads} threads, "
          f"{args.clients} clients, {args.seconds:.0f} s a run; this={ROOT} other={other}; "
          f"cpus={os.cpu_count()}", flush=True)
    this_rates: list[float] = []
    other_rates: list[float] = []
    for n in range(args.pairs):
        turns = [(ROOT, this_rates, "this"), (other, other_rates, "other")]
        for tree, rates, name in turns if n % 2 == 0 else turns[::-1]:
            rates.append(one_run(tree, args, name))
    mean_this = sum(this_rates) / len(this_rates)
    mean_other = sum(other_rates) / len(other_rates)
    wins = sum(a > b for a, b in zip(this_rates, other_rates, strict=True))
    print(f"mean this {mean_this:.1f} events/s, other {mean_other:.1f}; "
          f"this / other {mean_this / mean_other:.2f}; this faster in {wins} of {args.pairs} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
