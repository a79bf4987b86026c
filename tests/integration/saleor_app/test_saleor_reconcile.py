"""``refunds reconcile --provider saleor`` names every difference between the ledger and Saleor,
also money Saleor shows as given back that no webhook brought to the ledger (a refund made at
the payment provider, or by staff), and answers for the older refunds of the orders it asks
about. Exit 1 when there is any difference, 0 when the two agree."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.finance.reconcile import Mismatch, reconcile_saleor
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes.saleor_api import API_URL

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _paid(shop):
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "25.00")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    return shop.saleor.orders[ORDER]["transactions"][0]["id"]


def _cli(shop, db_url, since="2020-01-01"):
    return CliRunner().invoke(
        main, ["reconcile", "--provider", "saleor", "--since", since, "--json"],
        env={"REFUNDS_DATABASE_URL": db_url, "REFUNDS_SALEOR_ALLOWED_API_URLS": API_URL,
             "REFUNDS_SALEOR_ALLOW_PRIVATE_ADDRESSES": "true"},  # answered by responses
    )


def test_a_refund_made_outside_the_app_that_no_webhook_brought_is_named(installed, clock,
                                                                        any_db_url):
    tx = _paid(installed)
    since = clock().replace(year=2020)
    assert reconcile_saleor(installed.runtime.saleor_events, installed.engine, since) == []
    agree = _cli(installed, any_db_url)
    assert agree.exit_code == 0
    assert [json.loads(line) for line in agree.stdout.splitlines()] == [{
        "agree": True, "differences": [], "provider": "saleor",
        "since": "2020-01-01T00:00:00+00:00", "orders": 1, "provider_refunds": 0,
        "ledger_refunds": 0}]

    installed.saleor.refund_outside(ORDER, "20.00")  # at the provider; no webhook sent
    found = reconcile_saleor(installed.runtime.saleor_events, installed.engine, since)
    assert found == [
        Mismatch("refunded_total", tx, None, "0.00 USD refunded", "20.00 USD refunded")]
    result = _cli(installed, any_db_url)
    assert result.exit_code == 1
    assert [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")] == [
        {"kind": "refunded_total", "refund_id": tx, "attempt_id": None,
         "ledger": "0.00 USD refunded", "provider": "20.00 USD refunded"}]

    # the webhook Saleor sends for it arrives: the ledger knows, and the two agree again
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    assert reconcile_saleor(installed.runtime.saleor_events, installed.engine, since) == []


def test_an_older_refund_of_an_order_asked_about_is_answered_for(installed, clock):
    _paid(installed)
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.executor.drain()
    [old] = installed.attempts()
    first = installed.saleor.orders[ORDER]["grantedRefunds"][0]
    installed.saleor.settle(first["id"])
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    clock.advance(86400 * 3)
    # three days later the other unit comes back: the order is asked about again today
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    installed.executor.drain()
    second = installed.saleor.orders[ORDER]["grantedRefunds"][1]
    installed.saleor.settle(second["id"])
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    today = clock().replace(hour=0, minute=0, second=0, microsecond=0)
    assert reconcile_saleor(installed.runtime.saleor_events, installed.engine, today) == []
    # the ledger's three-day-old attempt is edited to say failed: Saleor's SUCCESS disagrees
    with installed.engine.begin() as conn:
        conn.execute(update(refund_attempts).where(refund_attempts.c.id == old.id)
                     .values(status="failed"))
    assert reconcile_saleor(installed.runtime.saleor_events, installed.engine, today) == [
        Mismatch("status", first["id"], old.id, "25.00 USD failed",
                 "25.00 USD succeeded")]
