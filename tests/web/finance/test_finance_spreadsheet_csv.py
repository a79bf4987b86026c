"""The finance CSVs as a spreadsheet reads them: each amount also in major units with exactly
its currency's decimals (a number, not text), and a period's decisions or attempts downloaded
whole, not one page of them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from refunds_plugin.finance.reports import export_decisions, stream_decisions
from refunds_plugin.finance.rows import EXPORT_COLUMNS, GRANTED
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions
from tests.fakes.shop import Shop

ORDERS = (("o-usd", 2005, "USD"), ("o-kwd", 20005, "KWD"), ("o-jpy", 12000, "JPY"))


class Till:
    """A shop and a finance token to read it with."""

    def __init__(self, db_url: str, now: datetime) -> None:
        self.shop = Shop(db_url, now)
        self.token = create_token(self.shop.runtime.engine, "Fin", "finance", now).secret

    def get(self, path: str) -> TestResponse:
        resp = self.shop.app.test_client().get(
            path, headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp


def rows(resp: TestResponse) -> list[dict[str, str]]:
    assert resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


@pytest.fixture
def three(any_db_url: str, now: datetime) -> Iterator[Till]:
    """A return paid back in each of USD (2 decimals), KWD (3) and JPY (none)."""
    till = Till(any_db_url, now)
    for order_id, amount, currency in ORDERS:
        till.shop.order(order_id, amount, f"{order_id}@example.com", currency=currency)
        answer = till.shop.ask_return(order_id, f"r-{order_id}")
        assert answer["outcome"] == "approve", answer
    till.shop.pay_out()
    yield till
    till.shop.runtime.engine.dispose()


# the orders are paid through Stripe, which refunds KWD in steps of 10 fils: 20.005 paid, 20.000
# refunded (the three decimals stay: "20.000"; the sales keep the fils, "20.005")
EXACT = {"o-usd": ("2005", "20.05"), "o-kwd": ("20000", "20.000"), "o-jpy": ("12000", "12000")}


def test_decisions_csv_carries_each_amount_in_major_units_with_its_currencys_decimals(
    three: Till,
) -> None:
    resp = three.get("/api/decisions?format=csv")
    header = resp.get_data(as_text=True).splitlines()[0].split(",")
    # the existing columns keep their names and places; the major units come after them
    assert header == [*EXPORT_COLUMNS, "amount_decimal", "refund_amount_decimal",
                      "credit_amount_decimal", "credit_bonus_decimal",
                      *GRANTED, *(g + "_decimal" for g in GRANTED)]
    found = {r["order_id"]: (r["amount"], r["amount_decimal"], r["refund_amount_decimal"],
                             r["credit_amount_decimal"], r["credit_bonus_decimal"])
             for r in rows(resp)}
    assert found == {
        "o-usd": ("2005", "20.05", "20.05", "0.00", "0.00"),
        "o-kwd": ("20000", "20.000", "20.000", "0.000", "0.000"),
        "o-jpy": ("12000", "12000", "12000", "0", "0"),
    }
    # a page asked for by number has the same columns
    paged = rows(three.get("/api/decisions?format=csv&page=1"))
    assert {r["order_id"]: r["amount_decimal"] for r in paged} == {
        k: v[1] for k, v in EXACT.items()}


def test_attempts_csv_and_ledger_export_carry_the_same_exact_amounts(three: Till) -> None:
    attempts = rows(three.get("/api/attempts?format=csv"))
    # the dry run sends what Stripe would: KWD in multiples of 10 fils (money.stripe_amount)
    assert {r["order_id"]: (r["amount"], r["amount_decimal"], r["bonus_decimal"],
                            r["sent_amount"], r["sent_amount_decimal"]) for r in attempts} == {
        "o-usd": ("2005", "20.05", "0.00", "2005", "20.05"),
        "o-kwd": ("20000", "20.000", "0.000", "20000", "20.000"),
        "o-jpy": ("12000", "12000", "0", "12000", "12000"),
    }
    out = io.StringIO()
    assert export_decisions(three.shop.runtime.engine, out, "csv", None, None) == 3
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["order_id"]: (r["amount"], r["amount_decimal"]) for r in exported} == EXACT
    # JSON keeps the integers: no new keys in its rows
    out = io.StringIO()
    export_decisions(three.shop.runtime.engine, out, "json", None, None)
    assert "amount_decimal" not in out.getvalue()


def test_summary_csv_reads_kwd_sales_as_twenty_point_zero_zero_five(three: Till) -> None:
    day = three.shop.now.date()
    summary = rows(three.get("/api/summary?format=csv"))
    by = {(r["day"], r["currency"]): r for r in summary}
    paid = (day - timedelta(days=3)).isoformat()  # the shop's orders were paid 3 days before
    assert {cur: (by[(paid, cur)]["sales"], by[(paid, cur)]["sales_decimal"])
            for _, _, cur in ORDERS} == {
        "USD": ("2005", "20.05"), "KWD": ("20005", "20.005"), "JPY": ("12000", "12000")}
    # the scene pays out in dry run: what "went back" is dry_run money, in major units too
    assert {cur: by[(day.isoformat(), cur)]["dry_run_decimal"] for _, _, cur in ORDERS} == {
        "USD": "20.05", "KWD": "20.000", "JPY": "12000"}


@pytest.fixture
def busy(any_db_url: str, now: datetime) -> Iterator[Till]:
    """120 returns decided on one day, one a minute."""
    till = Till(any_db_url, now - timedelta(hours=3))
    for n in range(120):
        till.shop.order(f"o-{n}", 1000 + n, f"c{n}@example.com")
        till.shop.ask_return(f"o-{n}", f"r-{n}", settled=False)
        till.shop.now += timedelta(minutes=1)
    yield till
    till.shop.runtime.engine.dispose()


def test_a_periods_csv_is_every_decision_not_the_first_page(busy: Till) -> None:
    day = busy.shop.now.date().isoformat()
    query = f"since={day}&until={day}T23:59:59"
    resp = busy.get(f"/api/decisions?format=csv&{query}")
    assert resp.is_streamed and resp.headers["X-Has-Next"] == "false"
    every = rows(resp)
    with busy.shop.runtime.engine.connect() as conn:
        recorded = set(conn.execute(select(decisions.c.id)).scalars())
    assert len(every) == 120 and {r["id"] for r in every} == recorded
    # in the pages' order (newest first), the amounts exact
    pages = [busy.get(f"/api/decisions?{query}&page={p}").get_json() for p in (1, 2, 3)]
    assert [(p["has_next"], len(p["data"])) for p in pages] == [
        (True, 50), (True, 50), (False, 20)]  # JSON stays paged
    assert [r["id"] for r in every] == [d["id"] for p in pages for d in p["data"]]
    assert [r["amount_decimal"] for r in every[:2]] == ["11.19", "11.18"]
    assert every[-1]["amount_decimal"] == "10.00"
    # a page asked for by number is that page; a filter narrows the whole download
    assert len(rows(busy.get(f"/api/decisions?format=csv&{query}&per_page=50"))) == 50
    [one] = rows(busy.get(f"/api/decisions?format=csv&{query}&order=o-7"))
    assert (one["order_id"], one["amount_decimal"]) == ("o-7", "10.07")


def test_the_whole_download_reads_the_database_in_batches(busy: Till) -> None:
    engine = busy.shop.runtime.engine
    streamed = [r["id"] for r in stream_decisions(engine, {}, batch=7)]
    assert len(streamed) == 120 and streamed == [
        r["id"] for r in stream_decisions(engine, {}, batch=1000)]


def test_a_periods_attempts_csv_is_every_attempt(busy: Till) -> None:
    busy.shop.pay_out()
    resp = busy.get("/api/attempts?format=csv")
    assert resp.is_streamed and resp.headers["X-Has-Next"] == "false"
    every = rows(resp)
    assert len(every) == 120
    assert sorted(r["amount_decimal"] for r in every)[:2] == ["10.00", "10.01"]
    assert len(rows(busy.get("/api/attempts?format=csv&page=3"))) == 20


def test_a_bad_filter_on_a_whole_download_is_a_400_not_a_broken_file(busy: Till) -> None:
    resp = busy.shop.app.test_client().get(
        "/api/decisions?format=csv&outcome=approved",
        headers={"Authorization": f"Bearer {busy.token}"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_parameter"
