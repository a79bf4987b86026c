"""PostgreSQL restarted in the middle of traffic: the receivers answer 5xx while it is down (so
the sender retries), recover without a restart of their own, and afterwards every event is
recorded once and every approved attempt paid once.

The server stopped and started is a throwaway cluster of this test's own (``initdb`` into a
temporary directory, on a free port): the shared server on 5432 is never touched. Without the
PostgreSQL binaries the test skips with the reason, unless ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import decisions, events
from tests.fakes.stripe_api import FakeStripeServer
from tests.process import traffic
from tests.process.cluster import Cluster, backlog, chain_problem, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class OwnPostgres:
    """A PostgreSQL cluster in a temporary directory, run as the ``postgres`` user."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.data, self.port = bindir, root / "data", free_port()
        self.sock = root / "sock"
        self.sock.mkdir()
        shutil.chown(root, "postgres")
        shutil.chown(self.sock, "postgres")
        self._as_postgres([str(bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "--no-sync"])

    def _as_postgres(self, cmd: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} {cmd[-1]}: exit {done.returncode}: "
                               f"{done.stdout[-500:]} {done.stderr[-500:]}")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=60")
        for attempt in range(3):  # on a loaded machine the first try may time out
            try:
                self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o",
                                   opts, "-t", "180", "-l", str(self.data.parent / "pg.log"),
                                   "-w", "start"])
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(2)

    def stop(self) -> None:
        self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                           "-w", "stop"])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/refunds"


@pytest.fixture
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    bindir = _bin()
    if bindir is None or shutil.which("runuser") is None and os.geteuid() == 0:
        if os.environ.get("CI"):
            pytest.fail("CI is set but PostgreSQL's binaries (initdb, pg_ctl) are missing")
        pytest.skip("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile_dir(tmp_path_factory))
    pg = OwnPostgres(bindir, root)
    pg.start()
    admin = create_engine(pg.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE refunds"))
    admin.dispose()
    yield pg
    with contextlib.suppress(RuntimeError):
        pg.stop()


def tempfile_dir(factory: pytest.TempPathFactory) -> str:
    path = factory.mktemp("own-pg")
    os.chmod(path, 0o755)
    for parent in path.parents:  # postgres must reach its directory
        if str(parent).startswith("/tmp/pytest-of"):
            os.chmod(parent, 0o755)
    return str(path)


def _deliver(cluster: Cluster, session: requests.Session, payload: dict, expected: tuple,
             answers: Counter[int]) -> None:
    """As a storefront does: deliver again after a 5xx or no answer, until it is taken."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            code = cluster.post(session, payload).status_code
        except requests.RequestException:
            code = 599
        answers[code] += 1
        if code in expected or code < 500:
            return
        time.sleep(0.1)
    raise AssertionError(f"never delivered: {payload['id']}")


def test_postgres_restarted_under_traffic_loses_nothing_and_pays_once(
    own_pg: OwnPostgres, tmp_path: Path
) -> None:
    engine = make_engine(own_pg.url)
    migrate(engine)
    stripe = FakeStripeServer().start()
    cluster = Cluster(own_pg.url, stripe.url, tmp_path, settings={
        "REFUNDS_EXECUTOR_LEASE": "5"})
    orders = [f"pgr{n:03d}" for n in range(24)]
    for order in orders:
        stripe.fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
    answers: Counter[int] = Counter()
    try:
        cluster.start_server(workers=2, threads=4)
        cluster.start_worker("w1")
        wait_until(lambda: "worker w1 started" in (tmp_path / "w1.log").read_text(), 120,
                   "the worker to start")  # a worker that cannot open the database exits
        receivers = sorted(p.pid for p in [cluster.procs["server"]])

        def shop(mine: list[str]) -> None:
            session = requests.Session()
            for order in mine:
                _deliver(cluster, session, traffic.paid(order), (200,), answers)
                for n, payload in enumerate(traffic.deliveries(order)):
                    _deliver(cluster, session, payload, (400,) if n == 3 else (200, 201),
                             answers)
                time.sleep(0.05)

        clients = [threading.Thread(target=shop, args=(orders[i::3],)) for i in range(3)]
        for c in clients:
            c.start()
        wait_until(lambda: sum(answers.values()) >= 20 and stripe.fake.refunds != [], 120,
                   "traffic, and the worker paying, before the restart")
        own_pg.stop()
        down = requests.Session()
        probe = traffic.paid("pgr-down")
        stripe.fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi("pgr-down"))
        assert cluster.post(down, probe).status_code >= 500  # nothing durable: the sender retries
        time.sleep(2)
        own_pg.start()
        # this test's own reader pool still holds connections the restart closed (the app's
        # processes drop theirs after one 5xx each: docs/operations.md); start it afresh
        engine.dispose()
        for c in clients:
            c.join(300)
        _deliver(cluster, down, probe, (200,), answers)
        orders.append("pgr-down")
        for order in orders[-1:]:
            for n, payload in enumerate(traffic.deliveries(order)):
                _deliver(cluster, down, payload, (400,) if n == 3 else (200, 201), answers)
        wait_until(lambda: backlog(engine) == 0, 180, "the worker to pay every attempt")
        assert sorted(p.pid for p in [cluster.procs["server"]]) == receivers  # not restarted
        assert cluster.procs["server"].poll() is None
        assert cluster.procs["w1"].poll() is None  # the worker rode out the outage too
        # sealed by the processes' own sealers while they run (close() kills them: a crash,
        # whose unsealed entries would wait for the next round or `refunds ledger seal`)
        problem = chain_problem(engine)
    finally:
        cluster.close()
        stripe.stop()
        engine.dispose()  # on a failure too: no pooled connection left for a later test's GC

    assert any(code >= 500 for code in answers), answers  # the outage was seen by senders
    with engine.connect() as conn:
        per_event = Counter(r.event_id for r in conn.execute(select(events.c.event_id)))
        outcomes: dict[str, Counter[str]] = {}
        for order_id, outcome in conn.execute(select(decisions.c.order_id, decisions.c.outcome)):
            outcomes.setdefault(order_id, Counter())[outcome] += 1
        n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
    engine.dispose()
    assert all(n == 1 for n in per_event.values())
    assert n_events == len(orders) * 4  # paid + a, b, d (c is refused, unrecorded)
    assert all(outcomes[o] == Counter({"approve": 3}) for o in orders), outcomes
    assert {o: stripe.fake.refunded(traffic.pi(o)) for o in orders} == {
        o: traffic.CAPTURED for o in orders}
    made = Counter(r["metadata"]["attempt_id"] for r in stripe.fake.refunds)
    assert len(made) == len(orders) * 3 and set(made.values()) == {1}
    assert problem is None
