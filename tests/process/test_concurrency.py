"""Several gunicorn workers and several ``refunds worker`` processes on one PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import Engine, func, select

from refunds_plugin.ledger.tables import decisions, events, refund_attempts
from tests.fakes.stripe_api import FakeStripeServer
from tests.process import traffic
from tests.process.cluster import Cluster, backlog, chain_problem, wait_until

pytestmark = pytest.mark.slow
ORDERS = [f"c{n:03d}" for n in range(200)]


def send_all(cluster: Cluster, payloads: list[dict], threads: int) -> list[requests.Response]:
    local = threading.local()

    def one(payload: dict) -> requests.Response:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return cluster.post(local.s, payload)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, payloads))


def test_a_thousand_concurrent_requests_across_processes_move_each_refund_exactly_once(
    cluster: Cluster, stripe_server: FakeStripeServer, pg: Engine
) -> None:
    fake = stripe_server.fake
    for order in ORDERS:
        fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi(order))
    cluster.start_server(workers=3, threads=4)
    for name in ("w1", "w2", "w3"):
        cluster.start_worker(name)
    paid = send_all(cluster, [traffic.paid(o) for o in ORDERS], 8)
    assert [r.status_code for r in paid] == [200] * len(ORDERS)

    # each order's five deliveries are adjacent, so they are in flight at the same time
    returns = [p for o in ORDERS for p in traffic.deliveries(o)]
    assert len(returns) == 1000
    answers = send_all(cluster, returns, 20)

    # every request answered: a decided request with its one decision; the third mug asks for
    # units none left (ordered minus already returned), a 400 with nothing recorded
    codes = Counter(r.status_code for r in answers)
    assert set(codes) <= {200, 201, 400}, [r.text for r in answers if r.status_code >= 300][:3]
    assert codes[201] == 600 and codes[200] + codes[400] == 400, codes
    assert {json.dumps(r.json()) for r in answers if r.status_code == 400} == {json.dumps(
        {"error": {"code": "invalid_line",
                   "message": "line mug: a return has already been requested for every "
                              "unit of Mug"}})}
    by_request: dict[str, set[str]] = {}
    for payload, answer in zip(returns, answers, strict=True):
        if answer.status_code < 300:
            by_request.setdefault(payload["data"]["return"]["id"], set()).add(
                answer.json()["decision_id"])
    assert len(by_request) == 600 and all(len(ids) == 1 for ids in by_request.values())

    wait_until(lambda: backlog(pg) == 0, 90, "the workers to settle every attempt")
    with pg.connect() as conn:
        # 200 orders and 600 decided requests: a refused request left no inbox row
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 800
        outcomes = Counter(dict(conn.execute(
            select(decisions.c.outcome, func.count()).group_by(decisions.c.outcome)).all()))
        attempts = conn.execute(select(refund_attempts)).all()
    # two of the three mug requests win the two mugs; the lamp is refunded with the shipping
    assert outcomes == Counter({"approve": 600}), outcomes
    assert {a.status for a in attempts} == {"succeeded"}
    assert len(attempts) == 600

    # exactly one provider call created each refund, under the attempt's own key
    created = [c for c in fake.calls_to("POST", "/v1/refunds") if c.status == 200
               and not c.replayed]
    assert sorted(c.idempotency_key for c in created) == sorted(
        a.idempotency_key for a in attempts)
    assert len(fake.refunds) == 600
    assert sorted(r["metadata"]["attempt_id"] for r in fake.refunds) == sorted(
        a.id for a in attempts)

    # no order refunded beyond what was captured; here every order is refunded exactly in full
    for order in ORDERS:
        ours = sum(int(a.sent_amount) for a in attempts if a.order_id == order)
        assert fake.refunded(traffic.pi(order)) == ours == traffic.CAPTURED
    assert chain_problem(pg) is None
