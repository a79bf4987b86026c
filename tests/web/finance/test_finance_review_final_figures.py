"""A review approved with another amount, its fees waived or store credit instead gives the
final figures everywhere: the insights' money returned per product and fees (before and after
``insights fold --rebuild``, from the rollups and from the indexed rows alike), the costs, the
summary page, /api/summary and ``ledger report``, which count it under "decided by a person"
with its final amount, not as waiting for review at the policy's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.insights.costs import costs
from refunds_plugin.insights.period import period
from refunds_plugin.insights.reasons import reasons
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.line_index import index_adjusted
from refunds_plugin.ledger.migrate import migrate
from tests.fakes.finance_scene import as_before, csrf
from tests.fakes.shop import Shop

PERIOD = ("--since", "2026-11-01", "--until", "2026-12-01")
QUERY = "since=2026-11-01&until=2026-12-01"


@dataclass
class Reviewed:
    shop: Shop
    admin: FlaskClient
    url: str
    token: str

    def cli(self, *args: str) -> Any:
        out = CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": self.url})
        assert out.exit_code == 0, out.output
        return out.output

    def get(self, path: str) -> Any:
        resp = self.shop.app.test_client().get(
            path, headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp


def _review(shop: Shop, order: str, amount: int, currency: str, reason: str) -> str:
    shop.order(order, amount, f"{order}@example.com", currency=currency)
    answer = shop.send("return.requested", {"return": {
        "id": f"r-{order}", "order_id": order,
        "lines": [{"line_id": "l1", "quantity": 1, "reason": reason}],
        "requested_at": (shop.now - timedelta(hours=1)).isoformat()}})
    assert answer["outcome"] == "review", answer
    return str(answer["decision_id"])


def _approve(admin: FlaskClient, decision_id: str, **change: str) -> None:
    resp = admin.post(f"/finance/reviews/{decision_id}", data={
        "action": "approve", "note": "checked", **change,
        "csrf_token": csrf(admin, "/finance/reviews")})
    assert resp.status_code == 303, resp.get_data(as_text=True)


@pytest.fixture
def reviewed(any_db_url: str, now: datetime) -> Iterator[Reviewed]:
    # standard-30-day: a sizing return over 250.00 goes to a person, with no fee; "other"
    # goes to a person with the 5.95 (EUR) / 4.95 (GBP) return-shipping fee kept back
    shop = Shop(any_db_url, now, policy="preset:standard-30-day")
    lamp = _review(shop, "o-7", 1234567, "USD", "too_small")  # 12345.67 USD, no fee
    waived = _review(shop, "o-8", 10000, "EUR", "other")  # 94.05 EUR + 5.95 fee
    lower = _review(shop, "o-9", 10000, "GBP", "other")  # 95.05 GBP + 4.95 fee
    token = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    admin = shop.app.test_client()
    assert admin.post("/finance/login", data={
        "token": token, "csrf_token": csrf(admin, "/finance/login")}).status_code == 303
    _approve(admin, lamp, amount="1000.50")
    _approve(admin, waived, waive_fees="1")
    _approve(admin, lower, amount="60.00")
    shop.pay_out()
    yield Reviewed(shop, admin, any_db_url, token)
    shop.runtime.engine.dispose()


def _money(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {r["currency"]: (r["units_returned"], r["money_returned"]) for r in rows}


# money returned is the lines' value before fees (the fees are a term of their own), so a fee
# kept back on a lowered amount is in it: 60.00 GBP given + 4.95 GBP fee = 64.95 GBP
FINAL = {"USD": (1, 100050), "EUR": (1, 10000), "GBP": (1, 6495)}
FEES = {"USD": 0, "EUR": 0, "GBP": 495}  # EUR's 5.95 was waived


def _fees_and_dry_run(doc: dict[str, Any]) -> dict[str, tuple[int, int]]:
    got: dict[str, dict[str, int]] = {}
    for r in doc["rows"]:
        got.setdefault(r["currency"], {})[r["term"]] = r["amount"]
    return {cur: (t["fees"], t["dry_run"]) for cur, t in got.items()}


def test_the_insights_sum_the_final_figures_before_and_after_a_rebuild(
    reviewed: Reviewed,
) -> None:
    p = period(datetime.fromisoformat("2026-11-01T00:00+00:00"),
               datetime.fromisoformat("2026-12-01T00:00+00:00"), reviewed.shop.now)
    engine = reviewed.shop.runtime.engine
    for rolled in (True, False):
        assert _money([r.to_json() for r in reasons(engine, p, use_rollups=rolled).rows]) \
            == FINAL
    for step in ("before", "rebuilt"):
        doc = json.loads(reviewed.cli("insights", "reasons", *PERIOD, "--json"))
        assert _money(doc["rows"]) == FINAL, step
        api = reviewed.get(f"/api/insights/reasons?{QUERY}").get_json()
        assert _money(api["rows"]) == FINAL, step
        spent = json.loads(reviewed.cli("insights", "costs", *PERIOD, "--json"))
        assert _fees_and_dry_run(spent) == {cur: (FEES[cur], given) for cur, given in
                                            (("USD", 100050), ("EUR", 10000), ("GBP", 6000))}
        assert {r["currency"]: r["money_returned"] for r in spent["by_product"]} == {
            cur: money for cur, (_, money) in FINAL.items()}
        reviewed.cli("insights", "fold", "--rebuild")
    text_out = reviewed.cli("insights", "reasons", *PERIOD)
    lamp = next(ln for ln in text_out.splitlines() if ln.startswith("SHIRT  USD"))
    # people read the amounts grouped: the command's table and the page
    assert "1,000.50 USD" in lamp and "12,345.67" not in text_out
    page = reviewed.admin.get(f"/finance/insights/reasons?{QUERY}").get_data(as_text=True)
    assert '<td data-label="Money returned" class="num">1,000.50 USD</td>' in page
    assert "12,345.67" not in page
    assert costs(engine, p, use_rollups=False).to_json()["rows"] == \
        costs(engine, p).to_json()["rows"]


def test_the_summary_counts_a_reviewed_approval_with_its_final_amount(
    reviewed: Reviewed,
) -> None:
    data = reviewed.get(f"/api/summary?{QUERY}").get_json()
    assert {t["currency"]: (t["sent_to_review"], t["review_count"], t["review_amount"],
                            t["review_approved"], t["review_approved_amount"],
                            t["review_declined"], t["dry_run"]) for t in data["totals"]} == {
        "EUR": (1, 0, 0, 1, 10000, 0, 10000),
        "GBP": (1, 0, 0, 1, 6000, 0, 6000),
        "USD": (1, 0, 0, 1, 100050, 0, 100050)}
    page = reviewed.admin.get(f"/finance/summary?{QUERY}").get_data(as_text=True)
    money, decided = (re.search(rf'<tr class="{row}"><td data-label="Currency">USD</td>.*?</tr>',
                                page, re.S) for row in ("totals", "totals-decisions"))
    assert money is not None and decided is not None
    assert '<td data-label="Waiting for review" class="num">0 (0.00 USD)</td>' in decided.group(0)
    assert ('<td data-label="Decided by a person" class="num words"><span>1 approved (<span '
            'class="nb">1,000.50 USD</span>), 0 declined</span></td>') in decided.group(0)
    assert '<td data-label="Captured" class="num">12,345.67 USD</td>' in money.group(0)  # the sale
    assert "(12,345.67 USD)" not in page
    report = reviewed.cli("ledger", "report", *PERIOD)
    row = next(ln for ln in report.splitlines() if ln.startswith("USD"))
    assert "0 (0.00 USD)" in row and "1 approved (1,000.50 USD), 0 declined" in row
    assert "(12,345.67 USD)" not in report
    listed = reviewed.cli("ledger", "list")
    assert "1,000.50 USD" in listed and "12,345.67" not in listed


def test_a_review_still_waiting_is_counted_as_waiting_at_the_policys_amount(
    any_db_url: str, now: datetime,
) -> None:
    shop = Shop(any_db_url, now, policy="preset:standard-30-day")
    try:
        waiting = _review(shop, "o-1", 30000, "USD", "too_small")
        declined = _review(shop, "o-2", 40000, "USD", "too_small")
        token = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
        admin = shop.app.test_client()
        assert admin.post("/finance/login", data={
            "token": token, "csrf_token": csrf(admin, "/finance/login")}).status_code == 303
        resp = admin.post(f"/finance/reviews/{declined}", data={
            "action": "decline", "note": "worn", "csrf_token": csrf(admin, "/finance/reviews")})
        assert resp.status_code == 303
        [usd] = admin.get(f"/api/summary?{QUERY}",
                          headers={"Authorization": f"Bearer {token}"}).get_json()["totals"]
        assert (usd["sent_to_review"], usd["review_count"], usd["review_amount"],
                usd["review_approved"], usd["review_declined"]) == (2, 1, 30000, 0, 1)
        assert waiting
        with shop.runtime.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM reviews WHERE status = 'open'")
                                ).scalar_one() == 1
    finally:
        shop.runtime.engine.dispose()


def test_migration_0019_rewrites_approvals_recorded_before_it_as_the_app_now_writes_them(
    reviewed: Reviewed,
) -> None:
    engine = reviewed.shop.runtime.engine

    def rows() -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            return {t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}")))
                    for t in ("return_lines", "return_figures")}

    written = rows()
    as_before(engine, "0018",  # what the approvals left before 0019: the policy's figures
              "UPDATE return_lines SET amount = 1234567 WHERE amount = 100050",
              "UPDATE return_lines SET amount = 10000 WHERE amount = 6495",
              "UPDATE return_figures SET fees = 595 WHERE currency = 'EUR'")
    stale = rows()
    assert stale != written
    migrate(engine)
    assert rows() == written
    reviewed.cli("insights", "fold")
    doc = json.loads(reviewed.cli("insights", "reasons", *PERIOD, "--json"))
    assert _money(doc["rows"]) == FINAL


def test_writing_the_final_figures_again_changes_no_row(reviewed: Reviewed) -> None:
    engine = reviewed.shop.runtime.engine
    query = text("SELECT l.decision_id, l.amount, f.fees, f.bonus, f.kept, r.adjusted_amount "
                 "FROM return_lines l JOIN return_figures f ON f.decision_id = l.decision_id "
                 "JOIN reviews r ON r.decision_id = l.decision_id ORDER BY l.amount")
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(query)]
    assert [r[1:] for r in before] == [(6495, 495, 0, 0, 6000), (10000, 0, 0, 0, 10000),
                                       (100050, 0, 0, 0, 100050)]
    with write_tx(engine) as conn:
        for decision_id, _, fees, bonus, _, amount in before:
            index_adjusted(conn, decision_id, amount, fees, bonus)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == before


def test_the_pages_group_the_final_amount_and_the_exports_keep_its_machine_form(
    reviewed: Reviewed,
) -> None:
    [row] = reviewed.get("/api/decisions?order=o-7").get_json()["data"]
    # the API and the CSV export: minor units and Money's own text, as before
    assert (row["amount"], row["amount_text"], row["adjusted"]) == (
        100050, "1000.50 USD", "the policy said refund 12345.67 USD")
    csv_text = reviewed.get("/api/decisions?order=o-7&format=csv").get_data(as_text=True)
    assert ",1000.50 USD," in csv_text and "1,000.50" not in csv_text
    # the pages a person reads: grouped
    listing = reviewed.admin.get("/finance/?order=o-7").get_data(as_text=True)
    assert '<td data-label="Amount" class="num">1,000.50 USD</td>' in listing
    detail = reviewed.admin.get(f"/finance/decisions/{row['id']}").get_data(as_text=True)
    assert "<dt>Resolution</dt><dd>refund · 1,000.50 USD</dd>" in detail
    assert ("Changed on approval: refund of 1,000.50 USD; the policy had said refund of "
            "12,345.67 USD.") in detail
    assert "1000.50" not in listing + detail
    # the policy's explanation too, though the ledger keeps it as it was said
    said = re.search(r'<blockquote class="explanation">(.*?)</blockquote>', detail, re.S)
    assert said is not None
    # in dry run, as the customer read it: no money moves
    assert ("Dry run: if it is approved, we would refund 12,345.67 USD to your original "
            "payment; no money moves.") in said.group(1)
    assert ("Dry run: if it is approved, we would refund 12345.67 USD to your original "
            "payment; no money moves.") in row["explanation"]
