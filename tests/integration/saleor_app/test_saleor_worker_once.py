"""``refunds worker --once`` from cron settles Saleor refunds no webhook will announce: besides
draining due attempts it runs one poll round, re-querying the orders of every waiting Saleor
attempt whose look is due."""

from __future__ import annotations

from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes.saleor_api import API_URL

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def test_worker_once_re_queries_a_declined_saleor_refund_and_fails_it(
        installed, any_db_url):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.saleor.decline_next()  # Saleor sets the grant FAILURE and sends no webhook
    installed.executor.drain()
    assert [a.status for a in installed.attempts()] == ["sent"]
    env = {"REFUNDS_DATABASE_URL": any_db_url, "REFUNDS_SALEOR_ALLOWED_API_URLS": API_URL,
           "REFUNDS_SALEOR_ALLOW_PRIVATE_ADDRESSES": "true"}  # answered by responses

    result = CliRunner().invoke(main, ["worker", "--once"], env=env)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "worker: nothing was due\n"
        "saleor: re-queried 1 order(s) whose refunds were waiting: 1 settled\n")
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.last_error) == (
        "failed", "Saleor reports the granted refund FAILURE")
    again = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert (again.exit_code, again.stdout) == (0, "worker: nothing was due\n")
