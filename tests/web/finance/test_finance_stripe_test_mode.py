"""A refund Stripe made with a test key moved no real money, and every finance reading says so:
the decision page's "Money moved" and its attempts, the lists and their status filter, the
attempts' JSON and CSV, ``ledger list`` and the summary, whose refunded total and refund rate
leave it out. An attempt written before revision 0025 (its mode not known) reads as before."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from click.testing import CliRunner
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.migrate import migrate
from tests.fakes.finance_scene import as_before
from tests.fakes.shop import Shop
from tests.fakes.stripe_api import FakeStripeServer

QUERY = "since=2026-11-01&until=2026-12-01"


def test_a_test_key_refund_reads_as_stripe_test_mode_with_no_real_money_moved(
    any_db_url: str, now: datetime, stripe_server: FakeStripeServer
) -> None:
    stripe_server.fake.add_payment_intent(2500, "EUR", "pay_o-1")
    shop = Shop(any_db_url, now, stripe_api_key="sk_test_fake",
                stripe_api_base=stripe_server.url, stripe_max_network_retries=0)
    shop.order("o-1", 2500, "ann@example.com")
    decision_id = shop.ask_return("o-1", "r-1")["decision_id"]
    shop.pay_out()
    assert stripe_server.fake.refunded("pay_o-1") == 2500  # Stripe's test mode made it
    auth = {"Authorization": "Bearer " + create_token(
        shop.runtime.engine, "Fin", "finance", now).secret}
    client = shop.app.test_client()

    page = client.get(f"/finance/decisions/{decision_id}", headers=auth).get_data(as_text=True)
    assert ('<dt>Money moved</dt><dd class="moved">25.00 EUR refunded through stripe in test '
            "mode: no real money moved</dd>") in page
    assert ('<dt>Money</dt><dd class="money-test_mode">test_mode (Stripe test mode: no real '
            "money moved)</dd>") in page
    assert "<td>stripe (test mode: no real money)</td>" in page
    assert '<td class="status-test_mode">test_mode</td>' in page
    assert "succeeded" not in page

    def ids(query: str) -> list[str]:
        return [d["id"] for d in client.get(f"/api/decisions?{query}",
                                            headers=auth).get_json()["data"]]

    assert (ids("status=test_mode"), ids("status=succeeded")) == ([decision_id], [])
    [attempt] = client.get("/api/attempts", headers=auth).get_json()["data"]
    assert (attempt["status"], attempt["livemode"], attempt["provider"]) == (
        "test_mode", False, "stripe")
    assert client.get("/api/attempts?status=succeeded", headers=auth).get_json()["data"] == []
    rows = list(csv.reader(io.StringIO(
        client.get("/api/attempts?format=csv", headers=auth).get_data(as_text=True))))
    assert (rows[0][-5:], rows[1][-5:]) == (
        ["amount_decimal", "bonus_decimal", "sent_amount_decimal", "livemode", "gives_back"],
        ["25.00", "0.00", "25.00", "False", "sale"])
    assert rows[1][rows[0].index("status")] == "test_mode"
    url = shop.runtime.engine.url.render_as_string(False)
    listed = CliRunner().invoke(main, ["ledger", "list"], env={"REFUNDS_DATABASE_URL": url}).output
    assert listed.splitlines()[1].split()[6:10] == ["refund", "25.00", "EUR", "test_mode"]

    # the summary: test money is not refunded money, nor in the refund rate; counted apart
    data = client.get(f"/api/summary?{QUERY}", headers=auth).get_json()
    [totals] = data["totals"]
    assert (totals["refunded"], totals["test_mode"], totals["refund_rate_bp"]) == (0, 2500, 0)
    assert (data["promise"]["returned"], data["promise"]["test_mode"]) == (0, 1)
    summary = client.get(f"/finance/summary?{QUERY}", headers=auth).get_data(as_text=True)
    assert '<td data-label="Stripe test mode" class="num">25.00 EUR</td>' in summary
    assert '<td data-label="Refunded" class="num">0.00 EUR</td>' in summary
    assert ("<dt>Stripe test mode (no real money moved)</dt><dd>1 decision(s)</dd>") in summary

    # written before revision 0025: its mode is not known, and it reads as it always did (the
    # migration puts back a mode the journal holds, so it is cleared as an old row has none)
    as_before(shop.runtime.engine, "0024")
    migrate(shop.runtime.engine)
    with shop.runtime.engine.begin() as conn:
        conn.execute(text("UPDATE refund_attempts SET livemode = NULL"))
    page = client.get(f"/finance/decisions/{decision_id}", headers=auth).get_data(as_text=True)
    assert '<dt>Money moved</dt><dd class="moved">25.00 EUR refunded through stripe</dd>' in page
    assert '<td class="status-succeeded">succeeded</td>' in page
    assert "test mode: no real money" not in page
    [attempt] = client.get("/api/attempts", headers=auth).get_json()["data"]
    assert (attempt["status"], attempt["livemode"]) == ("succeeded", None)
    shop.runtime.engine.dispose()
