"""What finance reads is true: a reviewed decision shows the review's result beside its outcome
(pages, API, CSV, `ledger list`, `ledger export`); a dry run's payout is `dry_run`, never
`succeeded`; every amount is written in its currency, with any credit bonus beside it; the
summary counts kept items and sales as it says, and its chart is labelled."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes.finance_scene import Scene
from tests.fakes.shop import Shop

APPROVED_BY = "Ada Admin (token #1)"


def api(scene: Scene, path: str) -> object:
    resp = scene.shop.app.test_client().get(path, headers={
        "Authorization": f"Bearer {scene.finance}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def approve(scene: Scene) -> None:
    resp = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": "approve", "note": "loyal"},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_an_approved_review_shows_its_result_everywhere_beside_the_outcome(
    scene: Scene, any_db_url: str,
) -> None:
    approve(scene)
    [row] = api(scene, "/api/decisions?order=o-2").get_json()["data"]
    assert {k: row[k] for k in ("outcome", "review_status", "review_decided_by",
                                "review_decided_at")} == {
        "outcome": "review", "review_status": "approved", "review_decided_by": APPROVED_BY,
        "review_decided_at": "2026-11-24T14:00:00+00:00"}
    text = api(scene, "/api/decisions?order=o-2&format=csv").get_data(as_text=True)
    [csv_row] = list(csv.DictReader(io.StringIO(text)))
    assert (csv_row["outcome"], csv_row["review_status"], csv_row["review_decided_by"],
            csv_row["review_decided_at"]) == (
        "review", "approved", APPROVED_BY, "2026-11-24T14:00:00+00:00")
    page = scene.login(scene.finance).get("/finance/?order=o-2").get_data(as_text=True)
    assert ('<td data-label="Review" class="review-approved"><span>approved by Ada Admin '
            '(token #1) at <span class="nb">2026-11-24 14:00 UTC</span></span></td>') in page
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    listed = CliRunner().invoke(main, ["ledger", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    [line] = [ln for ln in listed.output.splitlines() if " o-2 " in ln]
    assert re.search(r"\breview\s+approved by Ada Admin \(token #1\) at 2026-11-24 14:00\s", line)
    exported = CliRunner().invoke(main, ["ledger", "export", "--format", "json"], env=env)
    rows = {r["order_id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert (rows["o-2"]["review_status"], rows["o-2"]["review_decided_at"]) == (
        "approved", "2026-11-24T14:00:00+00:00")
    assert (rows["o-1"]["review_status"], rows["o-1"]["review_decided_at"]) == ("", None)


def test_an_open_review_says_it_waits_for_a_person(scene: Scene) -> None:
    [row] = api(scene, "/api/decisions?order=o-2").get_json()["data"]
    assert (row["outcome"], row["review_status"], row["review_decided_by"]) == (
        "review", "open", "")
    page = scene.login(scene.finance).get("/finance/?order=o-2").get_data(as_text=True)
    assert '<td data-label="Review" class="review-open">waiting for a person</td>' in page


def test_a_dry_run_payout_is_dry_run_in_every_list_and_filter(
    scene: Scene, any_db_url: str,
) -> None:
    [row] = api(scene, "/api/decisions?status=dry_run").get_json()["data"]
    assert (row["order_id"], row["money_status"]) == ("o-1", "dry_run")
    assert api(scene, "/api/decisions?status=succeeded").get_json()["data"] == []
    [att] = api(scene, "/api/attempts?status=dry_run").get_json()["data"]
    assert (att["order_id"], att["status"], att["provider"]) == ("o-1", "dry_run", "dryrun")
    assert api(scene, "/api/attempts?status=succeeded").get_json()["data"] == []
    page = scene.login(scene.finance).get("/finance/?status=dry_run").get_data(as_text=True)
    assert '<td data-label="Money" class="money-dry_run">dry_run</td>' in page
    assert "o-2" not in page
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    listed = CliRunner().invoke(main, ["ledger", "list"], env=env).output
    assert "succeeded" not in listed and re.search(r" o-1 .* dry_run ", listed)
    exported = CliRunner().invoke(main, ["ledger", "export", "--format", "csv"], env=env)
    statuses = {r["order_id"]: r["money_status"]
                for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert statuses == {"o-1": "dry_run", "o-2": "none"}


def test_pages_write_amounts_in_their_currency_never_raw_minor_units(scene: Scene) -> None:
    client = scene.login(scene.admin)
    listing = client.get("/finance/").get_data(as_text=True)
    assert '<td data-label="Amount" class="num">25.00 EUR</td>' in listing
    assert '<td data-label="Amount" class="num">40.00 EUR</td>' in listing
    queue = client.get("/finance/reviews").get_data(as_text=True)
    assert "Order o-2</a> · 40.00 EUR</h2>" in queue
    detail = client.get(f"/finance/decisions/{scene.approved_id}").get_data(as_text=True)
    assert '<td class="num">25.00 EUR</td>' in detail
    summary = client.get("/finance/summary?since=2026-11-01&until=2026-12-01").get_data(
        as_text=True)
    assert '<td data-label="Captured" class="num">25.00 EUR</td>' in summary
    assert '<td data-label="Waiting for review" class="num">1 (40.00 EUR)</td>' in summary
    for html in (listing, queue, detail, summary):
        assert not re.search(r"\b(2500|4000) ?EUR\b|>2500<|>4000<", html)
    assert "Amounts in minor units" not in summary


def test_a_credit_bonus_is_shown_beside_the_amount(any_db_url: str, now: datetime) -> None:
    shop = Shop(any_db_url, now, policy="preset:credit-first")
    shop.order("o-5", 5000, "dee@example.com")
    answer = shop.send("return.requested", {"return": {
        "id": "r-5", "order_id": "o-5", "preferred_resolution": "credit",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}],
        "requested_at": now.isoformat()}})
    assert (answer["outcome"], answer["resolution"]) == ("approve", "credit")
    token = create_token(shop.runtime.engine, "Fin", "finance", now).secret
    client = shop.app.test_client()
    [row] = client.get("/api/decisions", headers={"Authorization": f"Bearer {token}"}).get_json()[
        "data"]
    assert (row["amount_text"], row["credit_bonus"], row["total_text"]) == (
        "50.00 EUR", 500, "55.00 EUR")
    page = client.get("/finance/", headers={"Authorization": f"Bearer {token}"}).get_data(
        as_text=True)
    assert ('<td data-label="Amount" class="num">50.00 EUR<br><small>+ 5.00 EUR credit bonus'
            "</small></td>") in page
    shop.runtime.engine.dispose()


@pytest.fixture
def overpaid(scene: Scene) -> Iterator[Scene]:
    """The scene plus an order paid 5.00 too much. The payment is named only by the storefront,
    never confirmed by a provider, so the correction waits for a person, who approves it."""
    scene.shop.send("order.paid", {"order": {
        "id": "o-9", "currency": "EUR", "paid_at": "2026-11-20T10:00:00+00:00",
        "customer": {"id": "cus_zed", "email": "zed@example.com"},
        "lines": [{"id": "l1", "sku": "S", "name": "Sock", "quantity": 1, "unit_amount": 2000}],
        "shipping_amount": 0, "total_amount": 2000,
        "payment": {"provider": "stripe", "reference": "pay_o-9", "amount": 2500}}})
    [correction] = api(scene, "/api/decisions?order=o-9").get_json()["data"]
    assert (correction["kind"], correction["outcome"]) == ("overpayment", "review")
    resp = scene.shop.app.test_client().post(
        f"/api/reviews/{correction['id']}", json={"action": "approve", "note": "checked"},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    scene.shop.pay_out(timedelta(hours=1))
    yield scene


def test_an_overpayment_correction_is_refunded_money_never_kept_goods(overpaid: Scene) -> None:
    data = api(overpaid, "/api/summary?since=2026-11-01&until=2026-12-01").get_json()
    [eur] = data["totals"]
    # o-1's 25.00 and o-9's 5.00 correction went out (in dry run); nothing was kept
    assert (eur["kept"], eur["dry_run"], eur["sales"]) == (0, 3000, 5000)
    html = overpaid.login(overpaid.finance).get(
        "/finance/summary?since=2026-11-01&until=2026-12-01").get_data(as_text=True)
    assert ("<dt>Captured</dt><dd>payments captured, counted on the day the order was paid") in html
    assert "corrections the shop made itself (overpayments, duplicate charges) return no item" \
        in html
    assert ("<dt>Dry run</dt><dd>what would have been refunded or credited, had the service not "
            "been in dry run: no money moved") in html  # nothing was paid


def test_the_summary_chart_names_its_currency_axes_and_values(scene: Scene) -> None:
    html = scene.login(scene.finance).get(
        "/finance/summary?since=2026-11-01&until=2026-12-01").get_data(as_text=True)
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert ">Money per day in EUR</text>" in chart
    assert 'class="y-axis"' in chart and 'class="x-axis"' in chart
    ticks = re.findall(r'<text class="y-tick"[^>]*>([^<]+)</text>', chart)
    assert ticks == ["0.00", "10.00", "20.00", "30.00", "40.00"]
    values = re.findall(r'<text class="value (\w+)"[^>]*>([^<]+)</text>', chart)
    assert values == [("dry_run", "25.00"), ("review_amount", "40.00")]
    # every day of November has its place; one in every four is labelled (they do not touch)
    days = re.findall(r'<g class="day" data-day="([^"]+)"', chart)
    assert days == [f"2026-11-{d:02d}" for d in range(1, 31)]
    assert re.findall(r'<text class="x-tick"[^>]*>([^<]+)</text>', chart) == [
        "11-01", "11-05", "11-09", "11-13", "11-17", "11-21", "11-25", "11-29"]
