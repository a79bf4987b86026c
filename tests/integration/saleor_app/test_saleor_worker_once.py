"""``refunds worker --once`` from cron settles Saleor refunds no webhook will announce: besides
draining due attempts it runs one poll round, re-querying the orders of every waiting Saleor
attempt whose look is due."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes.saleor_api import API_URL

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _returned(shop: Any, price: str, shipping: str, **order: Any) -> None:
    """Two shirts at ``price`` paid (Saleor's signed ORDER_FULLY_PAID), one asked back."""
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, price)], shipping=shipping, **order)
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201


def _worker_once(env: dict[str, str]) -> str:
    """``refunds worker --once``'s output; it exits 0."""
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _env(any_db_url: str) -> dict[str, str]:
    """The worker's settings: this database, the fake Saleor (answered by ``responses``)."""
    return {"REFUNDS_DATABASE_URL": any_db_url, "REFUNDS_SALEOR_ALLOWED_API_URLS": API_URL,
            "REFUNDS_SALEOR_ALLOW_PRIVATE_ADDRESSES": "true"}


def test_worker_once_re_queries_a_declined_saleor_refund_and_fails_it(
        installed, any_db_url):
    _returned(installed, "12.50", "5.00")
    installed.saleor.decline_next()  # Saleor sets the grant FAILURE and sends no webhook
    installed.executor.drain()
    assert [a.status for a in installed.attempts()] == ["sent"]
    env = _env(any_db_url)

    assert _worker_once(env) == (
        "worker: nothing was due\n"
        "saleor: re-queried 1 order(s) whose refunds were waiting: 1 settled\n")
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.last_error) == (
        "failed", "Saleor reports the granted refund FAILURE")
    assert _worker_once(env) == "worker: nothing was due\n"


def test_worker_once_records_a_free_orders_return_in_saleor_once(installed, any_db_url):
    _returned(installed, "0.00", "0.00", free=True)
    env = _env(any_db_url)

    assert _worker_once(env) == (
        "worker: nothing was due\n"
        "saleor: worked on 1 return(s) to record without a refund\n")
    assert installed.saleor.mutations() == [("RefundsReturnProducts", {
        "order": ORDER, "input": {
            "fulfillmentLines": [{"fulfillmentLineId": "RnVsZmlsbG1lbnRMaW5lO0", "quantity": 1}],
            "orderLines": [], "refund": False}})]
    assert _worker_once(env) == "worker: nothing was due\n"
    assert len(installed.saleor.mutations()) == 1
