"""The insights' CSVs carry their amounts in major units too, as the finance CSVs do: a
spreadsheet that sums ``sales`` of a KWD shop reads 20.005, not 20005 dinars."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from refunds_plugin.finance.tokens import create_token
from tests.fakes.shop import Shop


def _csv(shop: Shop, token: str, name: str) -> list[dict[str, str]]:
    resp = shop.app.test_client().get(f"/api/insights/{name}?format=csv",
                                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_reasons_and_costs_csvs_write_kwd_and_jpy_in_major_units(
    sqlite_url: str, now: datetime,
) -> None:
    shop = Shop(sqlite_url, now)
    shop.order("k-1", 20005, "kay@example.com", currency="KWD")
    shop.order("j-1", 12000, "jun@example.com", currency="JPY")
    assert shop.ask_return("k-1", "r-k")["outcome"] == "approve"
    assert shop.ask_return("j-1", "r-j")["outcome"] == "approve"
    shop.pay_out()
    token = create_token(shop.runtime.engine, "Fin", "finance", shop.now).secret

    reasons = _csv(shop, token, "reasons")
    # the test-mode money came later: after them, with its own major units
    assert list(reasons[0])[-5:] == ["sales_decimal", "money_returned_decimal",
                                     "money_kept_decimal", "money_test_mode",
                                     "money_test_mode_decimal"]
    assert sorted((r["currency"], r["sales"], r["sales_decimal"], r["money_returned"],
                   r["money_returned_decimal"], r["money_kept_decimal"]) for r in reasons) == [
        ("JPY", "12000", "12000", "12000", "12000", "0"),
        # sold 20.005; returned what is paid: Stripe's 10-fil step leaves 0.005 out
        ("KWD", "20005", "20.005", "20000", "20.000", "0.000"),
    ]
    costs = {(r["currency"], r["term"]): (r["amount"], r["amount_decimal"])
             for r in _csv(shop, token, "costs")}
    # what the dry run "paid": KWD goes through Stripe in steps of 10 fils
    assert costs[("KWD", "dry_run")] == ("20000", "20.000")
    assert costs[("JPY", "dry_run")] == ("12000", "12000")
    assert costs[("KWD", "refunded")] == ("0", "0.000")
    shop.runtime.engine.dispose()

