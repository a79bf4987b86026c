"""What finance sums is the money given. A review a person declined gives nothing: the
decisions list, ``/api/decisions`` (JSON and CSV) and ``ledger list`` say 0 granted beside what
the policy said; an approval with another amount gives that amount. Stripe refunds KWD in tens
of fils, so a 20.005 KWD line less a 1.500 KWD fee is refunded as 18.500 KWD: the insights'
money returned for it is 20.000 KWD (18.500 paid + the 1.500 fee), as the summary's money is
18.500, never 20.005; JPY has no step and keeps its value."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.migrate import migrate
from tests.fakes.finance_scene import as_before, csrf
from tests.fakes.shop import Shop

POLICY = """\
name: fin-month
window: {days: 30, start: payment}
reasons: {changed_mind: accept}
limits:
  auto_approve_per_request: {USD: "300.00", JPY: "45000", KWD: "90.000"}
resolution: {default: refund, allow: [refund, credit]}
fees:
  return_shipping: {USD: "4.95", JPY: "500", KWD: "1.500"}
"""
PERIOD = ("--since", "2026-11-01", "--until", "2026-12-01")
QUERY = "since=2026-11-01&until=2026-12-01"


@pytest.fixture
def shop(any_db_url: str, now: datetime, tmp_path: Path) -> Iterator[Shop]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    made = Shop(any_db_url, now, policy=str(policy))
    yield made
    made.runtime.engine.dispose()


def _ask(shop: Shop, order: str, amount: int, currency: str) -> dict[str, Any]:
    shop.order(order, amount, f"{order}@example.com", currency=currency)
    return shop.send("return.requested", {"return": {
        "id": f"r-{order}", "order_id": order,
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}],
        "requested_at": (shop.now - timedelta(hours=1)).isoformat()}})


def _admin(shop: Shop, now: datetime) -> tuple[FlaskClient, str]:
    token = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    admin = shop.app.test_client()
    assert admin.post("/finance/login", data={
        "token": token, "csrf_token": csrf(admin, "/finance/login")}).status_code == 303
    return admin, token


def _decide(admin: FlaskClient, decision_id: str, action: str, **more: str) -> None:
    resp = admin.post(f"/finance/reviews/{decision_id}", data={
        "action": action, "note": "checked", **more,
        "csrf_token": csrf(admin, "/finance/reviews")})
    assert resp.status_code == 303, resp.get_data(as_text=True)


def _cli(shop: Shop, *args: str, stdout: bool = False) -> str:
    """What the command printed (``stdout``: on standard output only, not its count on stderr)."""
    out = CliRunner().invoke(main, list(args),
                             env={"REFUNDS_DATABASE_URL": str(shop.runtime.engine.url
                                                              .render_as_string(False))})
    assert out.exit_code == 0, out.output
    return out.stdout if stdout else out.output


def test_a_declined_review_grants_nothing_in_the_lists_the_api_its_csv_and_ledger_list(
    shop: Shop, now: datetime,
) -> None:
    # 120.000 KWD less 1.500 KWD return shipping: over the 90.000 KWD limit, to a person
    rug = _ask(shop, "G700", 120000, "KWD")
    lamp = _ask(shop, "L800", 40000, "USD")  # 395.05 USD: over 300.00, to a person
    mug = _ask(shop, "M900", 2500, "USD")  # 20.05 USD, approved by the policy
    assert (rug["outcome"], rug["refund_amount"], lamp["outcome"], mug["outcome"]) == (
        "review", 118500, "review", "approve")
    admin, token = _admin(shop, now)
    _decide(admin, rug["decision_id"], "decline")
    _decide(admin, lamp["decision_id"], "approve", amount="300.00")
    shop.pay_out()

    auth = {"Authorization": f"Bearer {token}"}
    rows = admin.get(f"/api/decisions?{QUERY}", headers=auth).get_json()["data"]
    got = {r["order_id"]: (r["review_status"], r["refund_amount"], r["credit_amount"],
                           r["granted_refund_amount"], r["granted_credit_amount"])
           for r in rows}
    assert got == {"G700": ("declined", 118500, 0, 0, 0),  # the policy's figure stays beside
                   "L800": ("approved", 30000, 0, 30000, 0),
                   "M900": ("", 2005, 0, 2005, 0)}

    for path in (f"/api/decisions?{QUERY}&format=csv", f"/api/decisions?{QUERY}&format=csv&page=1"):
        sheet = admin.get(path, headers=auth).get_data(as_text=True)
        header = sheet.splitlines()[0].split(",")
        # added after every earlier column, so none of those moved
        assert header[-8:] == ["amount_decimal", "refund_amount_decimal",
                               "credit_amount_decimal", "credit_bonus_decimal",
                               "granted_refund_amount", "granted_credit_amount",
                               "granted_refund_amount_decimal",
                               "granted_credit_amount_decimal"]
        read = {r["order_id"]: (r["refund_amount_decimal"], r["granted_refund_amount"],
                                r["granted_refund_amount_decimal"])
                for r in csv.DictReader(io.StringIO(sheet))}
        assert read == {"G700": ("118.500", "0", "0.000"), "L800": ("300.00", "30000", "300.00"),
                        "M900": ("20.05", "2005", "20.05")}

    exported = _cli(shop, "ledger", "export", "--format", "csv", *PERIOD, stdout=True)
    assert {r["order_id"]: r["granted_refund_amount_decimal"]
            for r in csv.DictReader(io.StringIO(exported))} == {
        "G700": "0.000", "L800": "300.00", "M900": "20.05"}
    listed = {json.loads(ln)["order_id"]: json.loads(ln)["granted_refund_amount"]
              for ln in _cli(shop, "ledger", "list", "--json").splitlines()}
    assert listed == {"G700": 0, "L800": 30000, "M900": 2005}
    table = _cli(shop, "ledger", "list")
    rug_line = next(ln for ln in table.splitlines() if " G700 " in ln)
    assert "0.000 KWD (declined; the policy said 118.500 KWD)" in rug_line
    assert "300.00 USD" in next(ln for ln in table.splitlines() if " L800 " in ln)

    page = admin.get("/finance/?order=G700").get_data(as_text=True)
    assert ('<td data-label="Amount" class="num">0.000 KWD<br><small>declined; the policy '
            'said 118.500 KWD</small></td>') in page


def test_a_kwd_refund_rounded_to_stripes_step_is_the_money_the_insights_count(
    shop: Shop, now: datetime,
) -> None:
    oud = _ask(shop, "D400", 20005, "KWD")  # 20.005 - 1.500 = 18.505, refunded as 18.500
    bowl = _ask(shop, "B300", 12345, "JPY")  # 12345 - 500 = 11845 JPY: no step to round to
    assert (oud["outcome"], oud["refund_amount"], bowl["refund_amount"]) == (
        "approve", 18500, 11845)
    shop.pay_out()
    _, token = _admin(shop, now)
    auth = {"Authorization": f"Bearer {token}"}
    client = shop.app.test_client()

    def returned() -> dict[str, int]:
        rows = client.get(f"/api/insights/reasons?{QUERY}", headers=auth).get_json()["rows"]
        return {r["currency"]: r["money_returned"] for r in rows}

    # money returned is before fees: 18.500 paid + 1.500 fee; 11845 JPY paid + 500 fee
    assert returned() == {"KWD": 20000, "JPY": 12345}
    costs = json.loads(_cli(shop, "insights", "costs", *PERIOD, "--json"))
    terms = {(r["currency"], r["term"]): r["amount"] for r in costs["rows"]}
    assert (terms[("KWD", "dry_run")], terms[("KWD", "fees")]) == (18500, 1500)
    [kwd] = [t for t in client.get(f"/api/summary?{QUERY}", headers=auth).get_json()["totals"]
             if t["currency"] == "KWD"]
    assert kwd["dry_run"] == 18500 == returned()["KWD"] - terms[("KWD", "fees")]
    _cli(shop, "insights", "fold", "--rebuild")
    assert returned() == {"KWD": 20000, "JPY": 12345}

    # a return indexed before revision 0023 kept the line's 20.005 KWD: the migration
    # rewrites it as the app now writes it
    engine = shop.runtime.engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE return_lines SET amount = 20005 WHERE amount = 20000"))
    # folded so (only the migration's mark reads anew), by today's folder and read by today's
    # insights before the ledger goes back: they read columns a ledger at 0022 has not
    # (refund_attempts.livemode, 0025; returned_days.test_money, 0032)
    _cli(shop, "insights", "fold", "--rebuild")
    assert returned() == {"KWD": 20005, "JPY": 12345}
    as_before(engine, "0022")
    migrate(engine)
    assert returned() == {"KWD": 20000, "JPY": 12345}
