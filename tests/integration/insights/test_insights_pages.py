"""The Insights pages behind the finance login: each renders its chart and table, refuses a
bad period naming the parameter (as a page, 400), and none answers without a token."""

from __future__ import annotations

import csv
import io
import re

from click.testing import CliRunner
from sqlalchemy import select, update

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness
from tests.fakes.finance_scene import csrf
from tests.fakes.insights_history import History

PAGES = ("reasons", "costs", "retention", "feedback")


def test_each_page_has_its_chart_and_table_and_names_a_bad_parameter(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    client = h.client()
    login = client.post("/finance/login", data={"token": token,
                                                "csrf_token": csrf(client, "/finance/login")})
    assert login.status_code == 303
    index = client.get("/finance/insights/").get_data(as_text=True)
    assert "/finance/insights/reasons?reason=not_as_described" in index
    for name in PAGES:
        resp = client.get(f"/finance/insights/{name}?since=2026-05-01&until=2026-06-15")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, html
        assert 'class="pygal-chart insight-chart"' in html and "<table" in html
        assert "<script" not in html
        # nothing the CSP (style-src 'self') would refuse: the chart's theme is finance.css
        assert "<style" not in html and " style=" not in html
    bad = client.get("/finance/insights/costs?since=2026-06-15&until=2026-05-01")
    assert bad.status_code == 400
    assert "until: the period must end after it starts" in bad.get_data(as_text=True)
    bad = client.get("/finance/insights/reasons?reason=ugly")
    assert bad.status_code == 400
    assert "reason: expected one of damaged, defective" in bad.get_data(as_text=True)


def test_nobody_without_a_token_sees_an_insight(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    client = h.client()
    for name in PAGES:
        assert client.get(f"/finance/insights/{name}").status_code == 401
        assert client.get(f"/api/insights/{name}").status_code == 401
    assert client.get("/api/insights/compare?candidate=default").status_code == 401


def test_a_dry_run_shop_says_no_money_moved_on_every_page_api_csv_and_command(
    shop: tuple[Harness, History],
) -> None:
    """The same history as if paid by the dry-run provider: the pages, the API, the CSV and
    ``refunds insights`` say that no money moved, and the money is no longer "refunded"."""
    h, _ = shop
    with write_tx(h.runtime.engine) as conn:
        conn.execute(update(refund_attempts).values(provider="dryrun"))
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    client = h.client()
    period = "since=2026-05-01&until=2026-06-15"
    for name in ("reasons", "costs", "retention"):
        html = client.get(f"/finance/insights/{name}?{period}", headers=auth).get_data(
            as_text=True)
        assert '<p class="notice" id="dry-run">Dry run (no money moved):' in html, name
        doc = client.get(f"/api/insights/{name}?{period}", headers=auth).get_json()
        assert doc["dry_run"] is True
        out = CliRunner().invoke(main, ["insights", name, "--since", "2026-05-01", "--until",
                                        "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
        assert out.exit_code == 0, out.output
        assert out.output.splitlines()[1].startswith("Dry run (no money moved):"), name
    costs = client.get(f"/api/insights/costs?{period}", headers=auth).get_json()
    got = {r["term"]: r["amount"] for r in costs["rows"]}
    assert (got["refunded"], got["credited"], got["bonus"], got["dry_run"]) == (
        0, 0, 0, 5720 + 4500 + 450)
    assert "Money returned (dry run: no money moved)" in client.get(
        f"/finance/insights/costs?{period}", headers=auth).get_data(as_text=True)
    retention = client.get(f"/finance/insights/retention?{period}", headers=auth)
    assert "refund decided: dry run (no money moved)" in retention.get_data(as_text=True)
    table = client.get(f"/api/insights/reasons?{period}&format=csv", headers=auth)
    assert {r["dry_run"] for r in csv.DictReader(io.StringIO(table.get_data(as_text=True)))
            } == {"True"}


def test_a_period_with_dry_run_and_paid_money_says_partly_a_dry_run_whatever_the_keys(
    shop: tuple[Harness, History],
) -> None:
    """A shop that went live (a Stripe key is set) with one dry-run decision left in the
    period: the headline is the period's decisions, never "no money moved" for all of it."""
    h, _ = shop
    assert h.runtime.config.stripe_api_key  # the key is set now
    with write_tx(h.runtime.engine) as conn:
        first = conn.execute(select(refund_attempts.c.id).order_by(refund_attempts.c.id)
                             ).scalars().first()
        conn.execute(update(refund_attempts).where(refund_attempts.c.id == first)
                     .values(provider="dryrun"))
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    client = h.client()
    period = "since=2026-05-01&until=2026-06-15"
    partly = ("Partly a dry run: some refunds and store credit of this period went to the dry "
              "run and were never paid (no money moved for them); the rest went to a payment "
              "provider.")
    costs = client.get(f"/api/insights/costs?{period}", headers=auth).get_json()
    assert (costs["dry_run"], costs["dry_run_share"], costs["dry_run_notice"],
            costs["money_words"]) == (
        True, "some", partly, "money returned: partly a dry run (some of it never moved)")
    html = client.get(f"/finance/insights/costs?{period}", headers=auth).get_data(as_text=True)
    assert f'<p class="notice" id="dry-run">{partly}</p>' in html
    assert "Dry run (no money moved)" not in html
    out = CliRunner().invoke(main, ["insights", "costs", "--since", "2026-05-01", "--until",
                                    "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1] == partly
    assert "Dry run (no money moved)" not in out.output


def test_money_stripe_paid_in_its_test_mode_is_named_on_every_insight_and_command(
    shop: tuple[Harness, History],
) -> None:
    """The same history as if Stripe had paid it with a test key (each attempt's ``livemode``
    false, as such a refund leaves it): no real money moved, and every insight says so; one
    such attempt among paid ones: partly."""
    h, _ = shop
    with write_tx(h.runtime.engine) as conn:
        first = conn.execute(select(refund_attempts.c.id).order_by(refund_attempts.c.id)
                             ).scalars().first()
        conn.execute(update(refund_attempts).where(refund_attempts.c.id == first)
                     .values(livemode=False))
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    client = h.client()
    period = "since=2026-05-01&until=2026-06-15"
    # the costs keep that money apart: their own notice (test_insights_test_mode_costs.py)
    partly = ("Partly Stripe test mode: some refunds and store credit of this period were made "
              "with a Stripe test key and never really paid (no real money moved for them); "
              "they are under Stripe test mode, not in refunded, store credit or money out, "
              "nor in the money returned per product.")
    costs = client.get(f"/api/insights/costs?{period}", headers=auth).get_json()
    # the money returned holds no test-mode money (test_insights_test_mode_products.py), so
    # its words say nothing of it; the test-mode money is a column beside it
    assert (costs["dry_run_share"], costs["test_mode_share"], costs["test_mode_notice"],
            costs["money_words"]) == ("none", "some", partly, "money returned")
    html = client.get(f"/finance/insights/costs?{period}", headers=auth).get_data(as_text=True)
    assert f'<p class="notice" id="test-mode">{partly}</p>' in html
    assert ('<th class="num">Money returned</th><th class="num">Of it, items kept</th>'
            '<th class="num">Share of order value</th>'
            '<th class="num">Stripe test mode (no real money moved)</th>') in html

    with write_tx(h.runtime.engine) as conn:
        conn.execute(update(refund_attempts).values(livemode=False))
    every = ("Stripe test mode (no real money moved): every refund and store credit of this "
             "period was made with a Stripe test key and never really paid; the amounts are "
             "what would have been paid.")
    in_costs = ("Stripe test mode (no real money moved): every refund and store credit of this "
                "period was made with a Stripe test key and never really paid; it is under "
                "Stripe test mode, not in refunded, store credit or money out, nor in the money "
                "returned per product.")
    in_reasons = ("Stripe test mode (no real money moved): every refund and store credit of "
                  "this period was made with a Stripe test key and never really paid; it is "
                  "not in the money returned, but under Stripe test mode beside it.")
    for name in ("reasons", "costs", "retention"):
        html = client.get(f"/finance/insights/{name}?{period}", headers=auth).get_data(
            as_text=True)
        said = {"costs": in_costs, "reasons": in_reasons}.get(name, every)
        assert f'<p class="notice" id="test-mode">{said}</p>' in html, name
        assert 'id="dry-run"' not in html
        doc = client.get(f"/api/insights/{name}?{period}", headers=auth).get_json()
        assert (doc["dry_run"], doc["test_mode_share"]) == (False, "all")
        out = CliRunner().invoke(main, ["insights", name, "--since", "2026-05-01", "--until",
                                        "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
        assert out.exit_code == 0, out.output
        assert out.output.splitlines()[1] == said, name
    reasons = client.get(f"/finance/insights/reasons?{period}", headers=auth).get_data(
        as_text=True)
    assert ('<th class="num">Money returned</th>'
            '<th class="num">Stripe test mode (no real money moved)</th>') in reasons


def test_an_order_value_of_nothing_is_not_a_hundred_percent_of_itself(
    shop: tuple[Harness, History],
) -> None:
    """The costs page wrote "100.00 %" beside the order value whatever it was: on 1 June the
    returns are decided but no order is paid, so 0.00 USD is no share of anything (n/a)."""
    h, _ = shop
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    client = h.client()

    def order_value_row(period: str) -> str:
        html = client.get(f"/finance/insights/costs?{period}", headers=auth).get_data(
            as_text=True)
        (row,) = [r for r in html.split("<tr") if "order value (orders paid in the period)" in r]
        return " ".join(re.sub(r"<[^>]+>", " ", "<tr" + row).split())

    assert order_value_row("since=2026-06-01&until=2026-06-02") == (
        "USD order value (orders paid in the period) 0.00 USD n/a")
    assert order_value_row("since=2026-05-01&until=2026-06-15") == (
        "USD order value (orders paid in the period) 274.00 USD 100.00 %")
