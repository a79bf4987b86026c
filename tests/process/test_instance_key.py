"""``serve`` without REFUNDS_SECRET_KEY: a status link made before a restart still opens after
it, because the key is the instance's own, kept in its database; the banner says so."""

from __future__ import annotations

import pytest
import requests
from itsdangerous import URLSafeSerializer
from sqlalchemy import Engine, select

from refunds_plugin.ledger.instance import KEPT
from refunds_plugin.ledger.tables import instance_keys
from tests.fakes.stripe_api import FakeStripeServer
from tests.process import traffic
from tests.process.cluster import Cluster

pytestmark = pytest.mark.slow


def _keys(pg: Engine) -> list[str]:
    with pg.connect() as conn:
        return list(conn.execute(select(instance_keys.c.value)).scalars())


def test_a_status_link_survives_a_restart_of_serve_without_a_secret_key(
    cluster: Cluster, stripe_server: FakeStripeServer, pg: Engine
) -> None:
    stripe_server.fake.add_payment_intent(traffic.CAPTURED, "usd", traffic.pi("o1"))
    cluster.start_server(workers=2)
    with requests.Session() as s:
        assert cluster.post(s, traffic.paid("o1")).status_code == 200
        answer = cluster.post(s, traffic.ask("o1", "r1", "mug")).json()
    (key,) = _keys(pg)
    link = (f"{cluster.url}/returns/status/"
            f"{URLSafeSerializer(key, salt='returns-status').dumps(answer['decision_id'])}")
    before = requests.get(link, timeout=10)

    cluster.kill("server")
    cluster.start_server(workers=2)
    after = requests.get(link, timeout=10)

    assert before.status_code == after.status_code == 200
    assert "Where your money is" in after.text
    assert _keys(pg) == [key]  # both starts and all four workers used the one kept key
    log = (cluster.logs / "server.log").read_text()
    assert log.count(KEPT) == 2  # once per start, in the banner
