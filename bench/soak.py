"""Soak: a long run on PostgreSQL with faults, then exactly-once, the ledger, memory and
connections checked.

Two receiver processes (gunicorn, 2 workers, ``--no-executor``) and two ``refunds worker``s on
their own database; closed-loop storefront traffic (``tests/process/traffic.py``: every order
paid, then five deliveries of its return requests, one a redelivery, one refused); the Stripe
fake fails (500/503/429) and hangs past the SDK's timeout at random; every ``--kill-every``
seconds one worker is SIGKILLed mid-work and started again. Every ``--sample`` seconds it
prints each process's RSS and the database's open connections. At the end it waits for the
backlog, then checks: every order exactly its outcome (3 approved, 95.00 refunded once, one
provider refund per attempt), ``refunds ledger verify`` passes, each process's RSS grew less
than ``--max-growth`` after the warm-up, and the open connections stayed within a band.

    nice -n 10 python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench.bench_sustained import check  # noqa: E402
from refunds_plugin.ledger.db import make_engine  # noqa: E402
from refunds_plugin.ledger.migrate import migrate  # noqa: E402
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer  # noqa: E402
from tests.process import traffic  # noqa: E402
from tests.process.cluster import REFUNDS, Cluster, backlog, create_database, drop_database  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORKERS = ("w1", "w2")


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


class Load:
    """Closed-loop storefront clients; answers that are not the expected ones are counted."""

    def __init__(self, cluster: Cluster, fake: FakeStripe, clients: int, pause: float) -> None:
        self.cluster, self.fake, self.pause = cluster, fake, pause
        self.ids = itertools.count(1)
        self.orders: list[str] = []
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(clients)]

    def send(self, session: requests.Session, payload: dict[str, Any],
             expected: tuple[int, ...]) -> None:
        """Deliver until answered as expected, as a storefront does on 5xx or a lost answer."""
        for _ in range(20):
            try:
                code = self.cluster.post(session, payload).status_code
            except requests.RequestException:
                code = 599
            if code in expected:
                return
            with self.lock:
                self.errors[str(code)] += 1
            if code < 500:
                return
            time.sleep(0.5)

    def client(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            order = f"s{next(self.ids):07d}"
            self.fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
            self.send(session, traffic.paid(order), (200,))
            for n, payload in enumerate(traffic.deliveries(order)):
                self.send(session, payload, (400,) if n == 3 else (200, 201))
            with self.lock:
                self.orders.append(order)
            self.stop.wait(self.pause)  # a steady shop, not a flood: the workers keep up

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)


def chaos(fake: FakeStripe, stop: threading.Event, fail_rate: float, hang_rate: float,
          hang_s: float, rng: random.Random, injected: Counter[str]) -> None:
    """About ``fail_rate`` and ``hang_rate`` of the provider's requests fail or time out."""
    while not stop.wait(0.2):
        calls = len(fake.calls)
        time.sleep(0.8)
        made = max(1, len(fake.calls) - calls)
        fails = sum(rng.random() < fail_rate for _ in range(made))
        hangs = sum(rng.random() < hang_rate for _ in range(made))
        for _ in range(fails):
            fake.fail_next(1, rng.choice((500, 503, 429)))
        if hangs:
            fake.hang_next(hangs, hang_s)
        injected["failures"] += fails
        injected["timeouts"] += hangs


def connections(admin: Engine, name: str) -> int:
    with admin.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                {"d": name}).scalar_one())


def processes(cluster: Cluster) -> dict[str, int]:
    """``name#pid`` → pid of the receivers (gunicorn's workers) and the refunds workers: a
    restarted worker is a new process, with its own memory series."""
    out: dict[str, int] = {}
    server = cluster.procs.get("server")
    if server is not None:
        for pid in children(server.pid):
            out[f"receiver#{pid}"] = pid
    for name in WORKERS:
        proc = cluster.procs.get(name)
        if proc is not None:
            out[f"{name}#{proc.pid}"] = proc.pid
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=0.2,
                        help="share of the run before memory is taken as the baseline")
    parser.add_argument("--kill-every", type=float, default=180.0,
                        help="seconds between SIGKILLs of a worker")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds each client waits between orders")
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--hang-rate", type=float, default=0.02)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's access log
    rng = random.Random(args.seed)
    seconds = args.minutes * 60

    admin, name, url = create_database(args.pg_admin_url, "refunds_soak")
    engine = make_engine(url)
    stripe = FakeStripeServer().start()
    logs = Path(tempfile.mkdtemp(prefix="refunds-soak-"))
    cluster = Cluster(url, stripe.url, logs, settings={
        "REFUNDS_STRIPE_TIMEOUT": "3", "REFUNDS_EXECUTOR_LEASE": "10",
        "REFUNDS_EXECUTOR_MAX_TRIES": "30"})
    problems: list[str] = []
    stop = threading.Event()
    try:
        migrate(engine)
        cluster.start_server(workers=2, threads=4)
        for w in WORKERS:
            cluster.start_worker(w)
        load = Load(cluster, stripe.fake, args.clients, args.pause)
        injected: Counter[str] = Counter()
        faults = threading.Thread(target=chaos, daemon=True, args=(
            stripe.fake, stop, args.fail_rate, args.hang_rate, 5.0, rng, injected))
        print(f"soak: {args.minutes} min on {name}; logs in {logs}", flush=True)
        started = time.monotonic()
        load.start()
        faults.start()
        samples: list[tuple[float, dict[str, int], int]] = []
        next_kill, kills, victim = args.kill_every, 0, 0
        next_sample = 0.0
        print(f"{'t(s)':>6} {'orders':>7} {'backlog':>7} {'conns':>5}  RSS MiB per process",
              flush=True)
        while (elapsed := time.monotonic() - started) < seconds:
            if elapsed >= next_kill:
                w = WORKERS[victim % 2]
                cluster.kill(w)
                cluster.start_worker(w)
                kills, victim, next_kill = kills + 1, victim + 1, next_kill + args.kill_every
                print(f"{elapsed:6.0f} killed {w} (SIGKILL) and started it again", flush=True)
            if elapsed >= next_sample:
                rss = {p: r for p, pid in processes(cluster).items()
                       if (r := rss_kib(pid)) is not None}
                conns = connections(admin, name)
                samples.append((elapsed, rss, conns))
                shown = " ".join(f"{p}={r / 1024:.1f}" for p, r in sorted(rss.items()))
                print(f"{elapsed:6.0f} {len(load.orders):7d} {backlog(engine):7d} {conns:5d}  "
                      f"{shown}", flush=True)
                next_sample += args.sample
            time.sleep(1)
        load.finish()
        stop.set()
        drain = last_move = time.monotonic()
        left = backlog(engine)
        while left and time.monotonic() - last_move < 120:  # give up only when it stops moving
            time.sleep(1)
            now_left = backlog(engine)
            if now_left < left:
                last_move = time.monotonic()
            left = now_left
        print(f"load stopped: {len(load.orders)} orders; backlog drained in "
              f"{time.monotonic() - drain:.0f}s; answers retried: {dict(load.errors)}; "
              f"provider faults injected: {dict(injected)} over {len(stripe.fake.calls)} "
              "provider calls; "
              f"{kills} worker kills", flush=True)
        problems += check(engine, stripe.fake, load.orders)
        unexpected = {k: v for k, v in load.errors.items() if int(k) < 500}
        if unexpected:
            problems.append(f"answers other than 2xx/5xx where 2xx was expected: {unexpected}")
        verify = subprocess.run(REFUNDS + ["ledger", "verify"], env=cluster.env(),
                                capture_output=True, text=True, timeout=600)
        print(f"refunds ledger verify: exit {verify.returncode}: {verify.stdout.strip()[-300:]}",
              flush=True)
        if verify.returncode != 0:
            problems.append(f"ledger verify failed: {verify.stdout[-500:]} {verify.stderr[-500:]}")
        problems += memory_and_connections(samples, seconds * args.warmup, args.max_growth,
                                           max(60.0, args.sample))
    finally:
        stop.set()
        cluster.close()
        stripe.stop()
        engine.dispose()
        drop_database(admin, name)
    for p in problems:
        print("FAIL", p)
    if not problems:
        print("OK: exactly once, ledger verified, memory and connections flat")
    return 1 if problems else 0


def memory_and_connections(samples: list[tuple[float, dict[str, int], int]], warm: float,
                           max_growth: float, own_warm: float) -> list[str]:
    """RSS growth per process from its first sample after the warm-up (the run's, and
    ``own_warm`` seconds of its own: a restarted worker warms up again) to its last; only
    processes with two such samples count. And the spread of the open connections."""
    problems: list[str] = []
    after = [s for s in samples if s[0] >= warm]
    if len(after) < 2:
        return ["too few samples after the warm-up to judge memory (run longer)"]
    born = {}
    for t, rss, _ in samples:
        for p in rss:
            born.setdefault(p, t)
    names = sorted({p for _, rss, _ in after for p in rss})
    for p in names:
        series = [(t, rss[p]) for t, rss, _ in after if p in rss and t >= born[p] + own_warm]
        if len(series) < 2:
            continue
        first, last, top = series[0][1], series[-1][1], max(v for _, v in series)
        growth = (last - first) / first
        print(f"RSS {p}: {first / 1024:.1f} → {last / 1024:.1f} MiB (peak {top / 1024:.1f}) "
              f"over {series[-1][0] - series[0][0]:.0f}s: {growth:+.1%}", flush=True)
        if growth > max_growth:
            problems.append(f"{p} grew {growth:.1%} after the warm-up (limit {max_growth:.0%})")
    conns = [c for _, _, c in after]
    print(f"open connections after the warm-up: min {min(conns)}, max {max(conns)}", flush=True)
    if max(conns) > min(conns) + 6:  # each process's pool may open a few more under a burst
        problems.append(f"open connections not flat: {min(conns)}..{max(conns)}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
