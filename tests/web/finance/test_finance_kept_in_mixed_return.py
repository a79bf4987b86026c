"""A return where the customer keeps one item and sends another back: finance's summary (page,
`/api/summary`, `ledger report`) counts the kept item's value, as the insights' costs do."""

from __future__ import annotations

import json
from datetime import datetime

from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes.shop import Shop

PERIOD = "since=2026-11-01&until=2026-12-01"


def test_an_item_kept_in_a_mixed_return_is_counted_as_kept_everywhere(
    any_db_url: str, now: datetime,
) -> None:
    shop = Shop(any_db_url, now, policy="preset:credit-first")
    shop.send("order.paid", {"order": {
        "id": "o-7", "currency": "GBP", "paid_at": "2026-11-20T10:00:00+00:00",
        "delivered_at": "2026-11-21T10:00:00+00:00",
        "customer": {"id": "cus_ian", "email": "ian@example.co.uk"},
        "lines": [{"id": "l1", "sku": "SCARF", "name": "Scarf", "quantity": 1,
                   "unit_amount": 4000},
                  {"id": "l2", "sku": "PIN", "name": "Pin badge", "quantity": 1,
                   "unit_amount": 500}],
        "shipping_amount": 395, "total_amount": 4895,
        "payment": {"provider": "stripe", "reference": "pay_o-7", "amount": 4895}}})
    answer = shop.send("return.requested", {"return": {
        "id": "r-7", "order_id": "o-7",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"},
                  {"line_id": "l2", "quantity": 1, "reason": "changed_mind"}],
        "requested_at": now.isoformat()}})
    assert answer["outcome"] == "approve"
    # the scarf comes back, the 5.00 GBP pin badge stays with the customer (below 8.00 GBP)
    token = create_token(shop.runtime.engine, "Fin", "finance", now).secret
    client = shop.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    [gbp] = client.get(f"/api/summary?{PERIOD}", headers=auth).get_json()["totals"]
    assert (gbp["currency"], gbp["kept"]) == ("GBP", 500)
    [cost] = [r for r in client.get(f"/api/insights/costs?{PERIOD}", headers=auth)
              .get_json()["rows"] if r["term"] == "kept"]
    assert (cost["currency"], cost["amount"]) == ("GBP", 500)  # the same as the insights
    page = client.get(f"/finance/summary?{PERIOD}", headers=auth).get_data(as_text=True)
    assert '<td data-label="Kept" class="num">5.00 GBP</td>' in page
    assert ("the kept items' value when other items of the same return come back. It is also "
            "in refunded, credited") in page
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    report = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01", "--until",
                                       "2026-12-01", "--json"], env=env)
    assert report.exit_code == 0, report.output
    [reported] = json.loads(report.output)["totals"]
    assert reported["kept"] == 500
    shop.runtime.engine.dispose()
