"""The insights' figures on the hand-made history (``tests/fakes/insights_history.py``), worked
out by hand from its table: return rates and reasons per SKU and collection, the cost of
returns against sales, who bought again with the counts behind every share; the API's JSON and
CSV and the command say the same; a bad period is refused naming its parameter."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, update

from refunds_plugin.cli import main
from refunds_plugin.config import ReturnAddress
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import return_shipments
from tests.fakes import Clock, Harness
from tests.fakes.insights_history import History, make_history
from tests.fakes.stripe_api import FakeStripeServer

PERIOD = "since=2026-05-01&until=2026-06-15"
DEC_1 = 183 * 86_400  # from 2026-06-01 12:00 to 2026-12-01 12:00: every window has passed


def get(h: Harness, path: str) -> Any:
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    resp = h.client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json() if resp.mimetype == "application/json" else resp.get_data(as_text=True)


def reasons_of(row: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in row["reasons"].items() if v}


def test_return_rates_reasons_and_money_per_sku_against_the_period_before(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    doc = get(h, f"/api/insights/reasons?{PERIOD}")
    assert doc["before"] == {"since": "2026-03-17T00:00:00+00:00",
                             "until": "2026-05-01T00:00:00+00:00"}
    got = [(r["key"], r["units_sold"], r["sales"], r["units_asked"], r["units_returned"],
            r["return_rate_bp"], r["money_returned"], r["money_kept"], reasons_of(r),
            r["before"]) for r in doc["rows"]]
    assert got == [
        # 3 shirts sold (o-1, o-2 ×2); r-1 and r-2 granted, r-4 declined; dan's shirt was
        # sold on 04-01, in the period before, and nothing came back then
        ("SHIRT", 3, 15000, 3, 2, 6667, 10000, 0,
         {"not_as_described": 1, "changed_mind": 2},
         {"units_sold": 1, "units_returned": 0, "return_rate_bp": 0}),
        ("SOCK", 3, 2400, 1, 1, 3333, 800, 800, {"too_small": 1},
         {"units_sold": 0, "units_returned": 0, "return_rate_bp": None}),
        # o-1 ×2, o-3, o-5, o-9 (06-10); o-7 and o-8 are after the period
        ("MUG", 5, 10000, 0, 0, 0, 0, 0, {},
         {"units_sold": 0, "units_returned": 0, "return_rate_bp": None}),
    ]
    by_collection = get(h, f"/api/insights/reasons?{PERIOD}&by=collection")["rows"]
    assert [(r["key"], r["units_sold"], r["units_returned"], r["return_rate_bp"])
            for r in by_collection] == [("apparel", 6, 3, 5000), ("kitchen", 5, 0, 0)]
    by_product = get(h, f"/api/insights/reasons?{PERIOD}&by=product")["rows"]
    assert [r["key"] for r in by_product] == ["p-shirt", "p-sock", "p-mug"]


def test_until_now_counts_what_was_decided_in_this_very_second(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop  # the clock stands at the second the returns were decided
    doc = get(h, "/api/insights/reasons")
    assert [(r["key"], r["units_asked"], r["units_returned"]) for r in doc["rows"]
            if r["units_asked"]] == [("SHIRT", 3, 2), ("SOCK", 1, 1)]
    # until the end of this second (times are kept to the second)
    assert (doc["since"], doc["until"]) == ("2026-05-02T12:00:01+00:00",
                                            "2026-06-01T12:00:01+00:00")


def test_which_products_come_back_as_not_as_described_is_one_request_and_one_command(
    shop: tuple[Harness, History],
) -> None:
    h, history = shop
    doc = get(h, f"/api/insights/reasons?{PERIOD}&reason=not_as_described")
    assert [(r["key"], r["reasons"]["not_as_described"]) for r in doc["rows"]] == [("SHIRT", 1)]
    assert [c["comment"] for c in doc["comments"]] == ["The colour looks nothing like the photo"]
    out = CliRunner().invoke(main, ["insights", "reasons", "--since", "2026-05-01", "--until",
                                    "2026-06-15", "--reason", "not_as_described", "--json"],
                             env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"] == doc["rows"]
    text = CliRunner().invoke(main, ["insights", "reasons", "--since", "2026-05-01", "--until",
                                     "2026-06-15", "--reason", "not_as_described"],
                              env={"REFUNDS_DATABASE_URL": h.db_url}).output.splitlines()
    assert text[-2:] == ["Customers' comments (order, reasons):",
                         f"  {doc['comments'][0]['order_id']} (not_as_described): "
                         "The colour looks nothing like the photo"]
    found = get(h, f"/api/insights/reasons?{PERIOD}&q=SMALL")["comments"]
    assert [(c["decision_id"], c["reasons"], c["comment"]) for c in found] == [
        (history.decisions["r-3"], "too_small", "Runs small")]


def test_the_cost_of_returns_against_the_periods_sales(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    doc = get(h, f"/api/insights/costs?{PERIOD}")
    # sales: o-1 90.00 + o-2 100.00 + o-3 28.00 + o-5 20.00 + o-6 16.00 + o-9 20.00
    assert doc["sales"] == [{"currency": "USD", "amount": 27400}]
    assert {r["term"]: (r["amount"], r["share_of_sales_bp"]) for r in doc["rows"]} == {
        "refunded": (5720, 2088),  # ann's shirt 50.00 + cid's sock 8.00 less its 0.80 fee
        "credited": (4500, 1642),  # bob's shirt 50.00 less its 5.00 fee
        "bonus": (450, 164),  # 10 % of the credit
        "fees": (580, 212),
        "kept": (800, 292),  # cid keeps the sock
        "labels": (0, 0),
        "dry_run": (0, 0),
        "test_mode": (0, 0),  # Stripe answered live (test_insights_test_mode_costs.py)
        "exchanged": (0, 0),  # no exchange in this history (test_insights_exchanges.py)
        "exchange_charged": (0, 0),
        "exchange_waived": (0, 0),
        "money_out": (10670, 3894),
    }
    assert doc["dry_run"] is False and doc["money_words"] == "money returned"
    assert [(p["key"], p["money_returned"], p["money_kept"], p["share_of_sales_bp"])
            for p in doc["by_product"]] == [("SHIRT", 10000, 0, 6667), ("SOCK", 800, 800, 3333),
                                            ("MUG", 0, 0, 0)]
    table = list(csv.DictReader(io.StringIO(get(h, f"/api/insights/costs?{PERIOD}&format=csv"))))
    assert [(r["term"], r["amount"], r["share_of_sales_bp"]) for r in table][-1] == (
        "money_out", "10670", "3894")


def test_who_came_back_by_how_their_return_ended_with_the_count_behind_every_share(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    h.clock.advance(DEC_1)
    doc = get(h, f"/api/insights/retention?{PERIOD}")
    assert doc["caveat"].startswith("An association, not a proof")

    def shares(ending: str) -> list[tuple[int, int, int, int | None, list[Any]]]:
        [g] = [g for g in doc["groups"] if g["ending"] == ending]
        return [(w["days"], w["came_back"], w["n"], w["share_bp"],
                 [(s["currency"], s["amount"]) for s in w["spent"]]) for w in g["windows"]]

    assert shares("refund") == [(30, 1, 1, 10000, [("USD", 3600)]),  # ann, 19 days later
                                (90, 1, 1, 10000, [("USD", 3600)]),
                                (180, 1, 1, 10000, [("USD", 3600)])]
    assert shares("credit") == [(30, 0, 1, 0, []),  # bob, 75 days later
                                (90, 1, 1, 10000, [("USD", 4000)]),
                                (180, 1, 1, 10000, [("USD", 4000)])]
    assert shares("kept") == [(d, 0, 1, 0, []) for d in (30, 90, 180)]  # cid
    assert shares("declined") == [(d, 0, 1, 0, []) for d in (30, 90, 180)]  # dan
    assert shares("exchange") == [(d, 0, 0, None, []) for d in (30, 90, 180)]
    # eve (back 11 days after her first order) and fay (never)
    assert shares("no_return") == [(d, 1, 2, 5000, [("USD", 2000)]) for d in (30, 90, 180)]


def test_a_window_that_has_not_passed_yet_counts_nobody(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    h.clock.advance(45 * 86_400)  # 2026-07-16: 30 days have passed for all, 90 for none
    doc = get(h, f"/api/insights/retention?{PERIOD}")
    [refund] = [g for g in doc["groups"] if g["ending"] == "refund"]
    assert [(w["days"], w["n"], w["share_bp"]) for w in refund["windows"]] == [
        (30, 1, 10000), (90, 0, None), (180, 0, None)]


def test_the_api_and_the_command_say_the_same(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    for view in ("reasons", "costs", "feedback"):
        doc = get(h, f"/api/insights/{view}?{PERIOD}")
        out = CliRunner().invoke(main, ["insights", view, "--since", "2026-05-01", "--until",
                                        "2026-06-15", "--json"],
                                 env={"REFUNDS_DATABASE_URL": h.db_url})
        assert out.exit_code == 0, out.output
        assert json.loads(out.output) == doc
    table = CliRunner().invoke(main, ["insights", "costs", "--since", "2026-05-01", "--until",
                                      "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
    assert ("USD  money out in all                        106.70 USD         38.94 %"
            in table.output)  # as wide as "Stripe test mode (no real money moved)"
    assert "order value 274.00 USD (totals of the orders paid in the period)\n" in table.output
    assert table.output.endswith(
        "per product:\n"
        "SKU    CUR  ORDER VALUE  MONEY BACK  OF IT KEPT  OF ORDER VALUE\n"
        "SHIRT  USD   150.00 USD  100.00 USD    0.00 USD         66.67 %\n"
        "SOCK   USD    24.00 USD    8.00 USD    8.00 USD         33.33 %\n"
        "MUG    USD   100.00 USD    0.00 USD    0.00 USD          0.00 %\n")


def test_the_costs_compare_with_order_value_and_the_summary_counts_what_was_captured(
    shop: tuple[Harness, History],
) -> None:
    """Two different figures for the same period, each named for what it is: the costs'
    order value (totals of the orders paid), the summary's payments captured."""
    h, _ = shop
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    costs = h.client().get(f"/finance/insights/costs?{PERIOD}", headers=auth).get_data(
        as_text=True)
    assert ('<td data-label="What">order value (orders paid in the period)</td>'
            '<td data-label="Amount" class="num">274.00 USD</td>') in costs
    assert "<dt>Order value</dt><dd>totals of the orders paid in the period" in costs
    assert ">Sales<" not in costs and "of sales" not in costs.lower()
    summary = h.client().get(f"/finance/summary?{PERIOD}", headers=auth).get_data(as_text=True)
    assert '<th class="num">Captured</th>' in summary and ">Sales<" not in summary
    spec = h.client().get("/api/openapi.json", headers=auth).get_json()
    assert "`sales`: payments captured" in spec["paths"]["/api/summary"]["get"][
        "description"]
    assert "not the payments captured that /api/summary calls `sales`" in spec["paths"][
        "/api/insights/costs"]["get"]["summary"]


def test_a_bad_period_is_refused_naming_the_parameter(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    backwards = h.client().get("/api/insights/costs?since=2026-06-15&until=2026-05-01",
                               headers=auth)
    assert backwards.status_code == 400
    assert backwards.get_json()["error"]["message"].startswith(
        "until: the period must end after it starts")
    nonsense = h.client().get("/api/insights/retention?since=yesterday", headers=auth)
    assert nonsense.status_code == 400
    assert nonsense.get_json()["error"]["message"].startswith("since: expected an ISO 8601 date")
    bad_by = h.client().get("/api/insights/reasons?by=colour", headers=auth)
    assert bad_by.status_code == 400
    assert bad_by.get_json()["error"]["message"] == (
        "by: expected one of sku, product, collection, tag, found 'colour'")
    env = {"REFUNDS_DATABASE_URL": h.db_url}
    cli = CliRunner().invoke(main, ["insights", "reasons", "--since", "2026-06-15", "--until",
                                    "2026-05-01"], env=env)
    assert cli.exit_code == 2
    assert "until: the period must end after it starts" in cli.output
    cli = CliRunner().invoke(main, ["insights", "costs", "--since", "yesterday"], env=env)
    assert cli.exit_code == 2
    assert "--since" in cli.output and "'yesterday'" in cli.output



def test_a_period_from_long_ago_compares_with_all_that_came_before(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    # the period before 0302-11-16 .. 2026-06-15 would start in the year -1422: it is cut at the
    # first day Python can hold, and everything is counted (it was a 500)
    doc = get(h, "/api/insights/reasons?since=0302-11-16&until=2026-06-15")
    assert doc["before"] == {"since": "0001-01-02T00:00:00+00:00",
                             "until": "0302-11-16T00:00:00+00:00"}
    assert [(r["key"], r["units_sold"], r["before"]["units_sold"]) for r in doc["rows"]] == [
        ("SHIRT", 4, 0), ("SOCK", 3, 0), ("MUG", 5, 0)]
    assert get(h, "/api/insights/costs?since=0001-01-01T00:00:00%2B05:00&format=csv")


def test_prepaid_labels_are_a_cost_of_returns_unless_the_carrier_refunded_them(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, policy_file: Path,
) -> None:
    """The same history in a shop with a return address: its returns that come back get a
    return row; one label bought (6.95) counts, one the carrier refunded (voided) does not."""
    h = Harness(any_db_url, clock, stripe_server.url,
                settings={"policy": str(policy_file), "secret_key": "insights-test-key",
                          "return_addresses": (ReturnAddress("Returns", "1 Dock Rd", "Austin",
                                                             "78701", "US"),)})
    try:
        make_history(h, stripe_server.fake)
        with h.runtime.engine.begin() as conn:
            ids = sorted(conn.execute(select(return_shipments.c.decision_id)).scalars())
            assert len(ids) >= 2
            # as the shipping desk records a bought label, and a label voided unused
            conn.execute(update(return_shipments)
                         .where(return_shipments.c.decision_id == ids[0])
                         .values(label_status="bought", label_amount=695, label_currency="USD"))
            conn.execute(update(return_shipments)
                         .where(return_shipments.c.decision_id == ids[1])
                         .values(label_status="voided", label_amount=510, label_currency="USD"))
        doc = get(h, f"/api/insights/costs?{PERIOD}")
        rows = {r["term"]: (r["amount"], r["share_of_sales_bp"]) for r in doc["rows"]}
        assert rows["labels"] == (695, 254)  # 6.95 of 274.00 sales: 2.536 %
        assert rows["money_out"] == (10670 + 695, 4148)
    finally:
        h.close()


def test_an_item_that_came_back_without_selling_in_the_period_is_named(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    # the day the returns were decided: nothing was sold on it, the shirts and a sock came back
    doc = get(h, "/api/insights/reasons?since=2026-06-01&until=2026-06-02")
    assert [(r["key"], r["name"], r["units_sold"], r["units_asked"]) for r in doc["rows"]] == [
        ("SHIRT", "Linen shirt", 0, 3), ("SOCK", "Wool sock", 0, 1)]
    by_product = get(h, "/api/insights/reasons?since=2026-06-01&until=2026-06-02&by=product")
    assert [(r["key"], r["name"]) for r in by_product["rows"]] == [
        ("p-shirt", "Linen shirt"), ("p-sock", "Wool sock")]
