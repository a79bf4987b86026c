"""Sustained load on PostgreSQL: gunicorn (--no-executor) and two ``refunds worker`` processes.

Runs the same closed-loop storefront traffic twice in one run: first against the dry-run
provider (the baseline: the ledger and workers without any provider HTTP), then against the
in-repo Stripe fake. Every ``--interval`` seconds it prints throughput, p99 latency of the return
requests and the executor backlog; at the end it waits for the backlog to drain and checks that
every order has exactly its expected outcome (3 approved refunds totalling the captured 95.00,
1 declined request, one provider refund per attempt, an intact hash chain).

    python bench/bench_sustained.py --seconds 30
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes.stripe_api import FakeStripeServer  # noqa: E402
from tests.process import traffic  # noqa: E402
from tests.process.cluster import (  # noqa: E402
    Cluster,
    backlog,
    chain_problem,
    create_database,
    drop_database,
    truncate,
)

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Load:
    """Closed-loop clients: each takes the next order, pays it, then sends its five returns."""

    def __init__(self, cluster: Cluster, fake: Any, prefix: str) -> None:
        self.cluster, self.fake, self.prefix = cluster, fake, prefix
        self.ids = itertools.count()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.orders: list[str] = []
        self.errors: Counter[str] = Counter()
        self.stop = threading.Event()

    def client(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            order = f"{self.prefix}{next(self.ids):06d}"
            if self.fake is not None:
                self.fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
            if self.cluster.post(session, traffic.paid(order)).status_code != 200:
                self.errors["order.paid"] += 1
                continue
            for n, payload in enumerate(traffic.deliveries(order)):
                started = time.perf_counter()
                code = self.cluster.post(session, payload).status_code
                took = time.perf_counter() - started
                # the fourth delivery asks for a third mug of two: refused whole, with 400
                expected = (400,) if n == 3 else (200, 201)
                with self.lock:
                    self.latencies.append(took)
                    if code not in expected:
                        self.errors[str(code)] += 1
            with self.lock:
                self.orders.append(order)


def run_phase(name: str, cluster: Cluster, engine: Engine, fake: Any, args: Any) -> dict[str, Any]:
    truncate(engine)
    cluster.start_server(workers=args.server_workers, threads=4)
    for n in range(args.workers):
        cluster.start_worker(f"{name}-w{n + 1}")
    load = Load(cluster, fake, f"{name[:1]}")
    threads = [threading.Thread(target=load.client, daemon=True) for _ in range(args.clients)]
    print(f"\n== {name}: {args.seconds}s, {args.clients} clients, {args.server_workers} gunicorn "
          f"workers, {args.workers} refunds workers", flush=True)
    print(f"{'t(s)':>6} {'req/s':>8} {'p99 ms':>8} {'backlog':>8}", flush=True)
    started = time.monotonic()
    for t in threads:
        t.start()
    seen = 0
    while (elapsed := time.monotonic() - started) < args.seconds:
        time.sleep(min(args.interval, args.seconds - elapsed))
        with load.lock:
            window = load.latencies[seen:]
            seen = len(load.latencies)
        print(f"{time.monotonic() - started:6.0f} {len(window) / args.interval:8.1f} "
              f"{p99(window) * 1000:8.1f} {backlog(engine):8d}", flush=True)
    load.stop.set()
    for t in threads:
        t.join(60)
    total_s = time.monotonic() - started
    drain_started = time.monotonic()
    while backlog(engine) and time.monotonic() - drain_started < 120:
        time.sleep(0.2)
    drained_s = time.monotonic() - drain_started
    problems = check(engine, fake, load.orders)
    if load.errors:
        problems.append(f"non-2xx answers: {dict(load.errors)}")
    cluster.close()
    result = {"name": name, "orders": len(load.orders), "requests": len(load.latencies),
              "rps": len(load.latencies) / total_s, "p99_ms": p99(load.latencies) * 1000,
              "drain_s": drained_s, "problems": problems}
    print(f"{name}: {result['requests']} return requests for {result['orders']} orders, "
          f"{result['rps']:.1f} req/s, p99 {result['p99_ms']:.1f} ms, backlog drained "
          f"{drained_s:.1f}s after the load stopped", flush=True)
    return result


def check(engine: Engine, fake: Any, orders: list[str]) -> list[str]:
    """Every completed order: 3 approved (the third mug was refused, unrecorded), 3 refunds
    summing to the captured 95.00."""
    problems: list[str] = []
    with engine.connect() as conn:
        outcomes: dict[str, Counter[str]] = {}
        for order_id, outcome in conn.execute(select(decisions.c.order_id, decisions.c.outcome)):
            outcomes.setdefault(order_id, Counter())[outcome] += 1
        rows = conn.execute(select(refund_attempts)).all()
        left = conn.execute(select(func.count()).select_from(refund_attempts).where(
            refund_attempts.c.status != "succeeded")).scalar_one()
    if left:
        problems.append(f"{left} attempts did not succeed")
    sent: Counter[str] = Counter()
    for a in rows:
        sent[a.order_id] += int(a.sent_amount or 0)
    for order in orders:
        if outcomes.get(order) != Counter({"approve": 3}):
            problems.append(f"order {order}: decisions {dict(outcomes.get(order, {}))}")
        if sent[order] != traffic.CAPTURED:
            problems.append(f"order {order}: attempts sent {sent[order]}, not {traffic.CAPTURED}")
        if fake is not None and fake.refunded(traffic.pi(order)) != traffic.CAPTURED:
            problems.append(f"order {order}: the provider refunded "
                            f"{fake.refunded(traffic.pi(order))}")
    if fake is not None:
        made = Counter(r["metadata"]["attempt_id"] for r in fake.refunds)
        if sorted(made) != sorted(a.id for a in rows) or any(n != 1 for n in made.values()):
            problems.append("provider refunds do not match attempts one to one")
    if (chain := chain_problem(engine)) is not None:
        problems.append(f"ledger chain: {chain}")
    return problems[:20]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=180, help="load per phase")
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="refunds worker processes")
    parser.add_argument("--server-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's access log

    admin, name, url = create_database(args.pg_admin_url, "refunds_bench")
    engine = make_engine(url)
    stripe = FakeStripeServer().start()
    results = []
    try:
        migrate(engine)
        logs = Path(tempfile.mkdtemp(prefix="refunds-bench-"))
        baseline = Cluster(url, "", logs, settings={"REFUNDS_STRIPE_API_KEY": ""})
        results.append(run_phase("baseline (dry-run provider)", baseline, engine, None, args))
        live = Cluster(url, stripe.url, logs)
        results.append(run_phase("stripe fake", live, engine, stripe.fake, args))
    finally:
        stripe.stop()
        engine.dispose()
        drop_database(admin, name)
    base, live_r = results
    print(f"\nstripe fake vs baseline: throughput {live_r['rps'] / base['rps']:.2f}x, "
          f"p99 {live_r['p99_ms'] / max(base['p99_ms'], 1e-9):.2f}x")
    failed = [f"{r['name']}: {p}" for r in results for p in r["problems"]]
    for problem in failed:
        print("FAIL", problem)
    if not failed:
        print(f"OK: every event of {sum(r['orders'] for r in results)} orders has exactly its "
              "expected outcome; one provider refund per attempt; ledger chain intact")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
