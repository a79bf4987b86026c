"""SIGKILL and provider outages with real processes: nothing lost, nothing paid twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import Engine, select

from refunds_plugin.ledger.tables import decisions, events, refund_attempts
from tests.fakes.stripe_api import FakeStripeServer
from tests.process import traffic
from tests.process.cluster import Cluster, backlog, chain_problem, wait_until

pytestmark = pytest.mark.slow


def attempts(pg: Engine) -> list:
    with pg.connect() as conn:
        return list(conn.execute(select(refund_attempts).order_by(refund_attempts.c.id)).all())


def assert_each_attempt_paid_once(fake, rows) -> None:
    """One refund per attempt at the provider, created under the attempt's own key."""
    assert sorted(r["metadata"]["attempt_id"] for r in fake.refunds) == sorted(a.id for a in rows)
    for a in rows:
        keys = {c.idempotency_key for c in fake.calls_to("POST", "/v1/refunds")
                if c.params["metadata"]["attempt_id"] == a.id}
        assert keys == {a.idempotency_key}


def test_a_provider_outage_of_500s_and_timeouts_ends_with_every_refund_paid_once_under_its_key(
    cluster: Cluster, stripe_server: FakeStripeServer, pg: Engine
) -> None:
    fake = stripe_server.fake
    orders = [f"o{n:02d}" for n in range(20)]
    for order in orders:
        fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
    fake.fail_next(30, status=500)  # the outage: 30 answers of 500 …
    fake.hang_next(6, seconds=1.5)  # … then 6 that do the work but answer after our timeout
    cluster.settings.update({"REFUNDS_STRIPE_TIMEOUT": "0.5", "REFUNDS_EXECUTOR_MAX_TRIES": "60"})
    cluster.start_server(workers=1, threads=4)
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    with requests.Session() as s:
        for order in orders:
            assert cluster.post(s, traffic.paid(order)).status_code == 200
            assert cluster.post(s, traffic.ask(order, "a", "lamp")).status_code == 201

    wait_until(lambda: backlog(pg) == 0, 90, "every attempt to settle after the outage")
    rows = attempts(pg)
    assert len(rows) == 20 and {a.status for a in rows} == {"succeeded"}
    assert {a.sent_amount for a in rows} == {4000}
    assert sum(a.tries for a in rows) > 20  # the outage really made attempts retry
    statuses = [c.status for c in fake.calls_to("POST", "/v1/refunds")]
    assert statuses.count(500) == 30
    assert_each_attempt_paid_once(fake, rows)
    for order in orders:
        assert fake.refunded(traffic.pi(order)) == 4000
    assert chain_problem(pg) is None


def test_a_worker_killed_while_the_provider_is_paying_is_replayed_by_another_without_paying_twice(
    cluster: Cluster, stripe_server: FakeStripeServer, pg: Engine
) -> None:
    fake = stripe_server.fake
    fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi("k1"))
    fake.hang_next(1, seconds=2.0)  # the provider accepts the refund, then answers slowly
    cluster.settings.update({"REFUNDS_EXECUTOR_LEASE": "3"})
    cluster.start_server(workers=1, threads=2)
    cluster.start_worker("doomed")
    with requests.Session() as s:
        assert cluster.post(s, traffic.paid("k1")).status_code == 200
        assert cluster.post(s, traffic.ask("k1", "a", "lamp")).status_code == 201
    wait_until(lambda: len(fake.calls_to("POST", "/v1/refunds")) == 1, 30,
               "the worker's call to be in flight")
    cluster.kill("doomed")  # SIGKILL: the outcome is never written
    [held] = attempts(pg)
    assert (held.status, held.claimed_by, held.tries) == ("in_progress", "doomed", 1)

    cluster.start_worker("rescuer")
    wait_until(lambda: backlog(pg) == 0, 60, "the rescuer to take over the expired lease")
    [done] = attempts(pg)
    assert (done.status, done.sent_amount) == ("succeeded", 4000)
    assert done.tries >= 2
    assert len(fake.refunds) == 1 and fake.refunded(traffic.pi("k1")) == 4000
    assert done.provider_reference == fake.refunds[0]["id"]
    assert any(c.replayed for c in fake.calls_to("POST", "/v1/refunds"))
    assert_each_attempt_paid_once(fake, [done])
    assert chain_problem(pg) is None


def test_a_receiver_killed_mid_traffic_loses_nothing_once_the_storefront_redelivers(
    cluster: Cluster, stripe_server: FakeStripeServer, pg: Engine
) -> None:
    fake = stripe_server.fake
    orders = [f"s{n:02d}" for n in range(40)]
    for order in orders:
        fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
    cluster.start_server(workers=2, threads=4)
    cluster.start_worker("w1")
    with requests.Session() as s:
        for order in orders:
            assert cluster.post(s, traffic.paid(order)).status_code == 200
    returns = [traffic.ask(o, "a", "mug") for o in orders] + [
        traffic.ask(o, "d", "lamp") for o in orders]
    answered: dict[str, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(payload: dict) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        try:
            code = cluster.post(local.s, payload).status_code
        except requests.RequestException:
            return  # the receiver died under this request: the storefront will redeliver
        with lock:
            answered[payload["id"]] = code
            if len(answered) == 25:
                cluster.kill("server")  # SIGKILL the master and every gunicorn worker

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, returns))
    assert 25 <= len(answered) < len(returns)
    with pg.connect() as conn:
        recorded = set(conn.execute(select(events.c.event_id)).scalars())
    assert set(answered) <= recorded  # everything acknowledged was durable before the answer

    cluster.start_server(workers=2, threads=4)
    with requests.Session() as s:  # the storefront redelivers every event it sent
        codes = [cluster.post(s, p).status_code for p in returns]
    assert set(codes) <= {200, 201}
    wait_until(lambda: backlog(pg) == 0, 60, "the worker to pay every approved return")
    with pg.connect() as conn:
        decided = list(conn.execute(select(decisions.c.request_key)).scalars())
    assert sorted(decided) == sorted(f"return:{p['data']['return']['id']}" for p in returns)
    rows = attempts(pg)
    assert len(rows) == 80 and {a.status for a in rows} == {"succeeded"}
    assert_each_attempt_paid_once(fake, rows)
    for order in orders:
        assert fake.refunded(traffic.pi(order)) == 2500 + 4000
    assert chain_problem(pg) is None
