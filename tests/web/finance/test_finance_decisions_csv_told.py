"""The decisions CSV and JSON (``/api/decisions``) never tell finance that money moved when it
did not: a decision whose money went to the dry run, or that Stripe paid with a test key, carries
the explanation the decision page shows for it (the customer's answer, without the promise of
when the money arrives); a live Stripe refund's row keeps the stored explanation, promise and
all."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions
from tests.fakes.shop import Shop
from tests.fakes.stripe_api import FakeStripeServer

PROMISE = "The money will be on its way within 48 hours."
TOLD = ("Your return of 1 × Shirt is approved. We will refund 25.00 EUR to your original payment. "
        "Please send back: Shirt.")
# the same where no real money moved, as the customer read it
DRY_TOLD = ("Your return of 1 × Shirt is approved. Dry run: we would refund 25.00 EUR to your "
            "original payment; no money moves. Please send back: Shirt.")


def _shop(url: str, now: datetime, stripe: FakeStripeServer, key: str | None) -> Shop:
    """A shop paying through the fake Stripe with ``key``; without one, through the dry run."""
    stripe.fake.add_payment_intent(2500, "EUR", "pay_o-1")
    keys = {} if key is None else {"stripe_api_key": key, "stripe_api_base": stripe.url,
                                   "stripe_max_network_retries": 0}
    return Shop(url, now, **keys)


def _approved_and_paid(shop: Shop) -> tuple[str, dict[str, str]]:
    """One 25.00 EUR return the policy approves, paid out; its id and a finance token's header."""
    shop.order("o-1", 2500, "ann@example.com")
    answer = shop.ask_return("o-1", "r-1")
    assert answer["outcome"] == "approve"
    shop.pay_out()
    secret = create_token(shop.runtime.engine, "Fin Reader", "finance", shop.now).secret
    return answer["decision_id"], {"Authorization": f"Bearer {secret}"}


def _csv_row(shop: Shop, auth: dict[str, str]) -> dict[str, str]:
    resp = shop.app.test_client().get("/api/decisions?format=csv", headers=auth)
    assert resp.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    return row


def _json_row(shop: Shop, auth: dict[str, str]) -> dict[str, Any]:
    [row] = shop.app.test_client().get("/api/decisions", headers=auth).get_json()["data"]
    return dict(row)


def _page_told(shop: Shop, auth: dict[str, str], decision_id: str) -> str:
    page = shop.app.test_client().get(f"/finance/decisions/{decision_id}",
                                      headers=auth).get_data(as_text=True)
    [told] = re.findall(r'<blockquote class="explanation">(.*?)</blockquote>', page, re.S)
    return html.unescape(told)


def _stored(shop: Shop) -> str:
    with shop.runtime.engine.connect() as conn:
        return str(conn.execute(select(decisions.c.explanation)).scalar_one())


@pytest.mark.parametrize("key", [None, "sk_test_fake"], ids=["dry_run", "stripe_test_mode"])
def test_a_return_paid_with_no_real_money_reads_in_the_csv_as_on_its_decision_page(
    sqlite_url: str, now: datetime, stripe_server: FakeStripeServer, key: str | None
) -> None:
    shop = _shop(sqlite_url, now, stripe_server, key)
    decision_id, auth = _approved_and_paid(shop)
    row = _csv_row(shop, auth)

    assert _stored(shop) == f"{TOLD} {PROMISE}"  # the ledger keeps what the policy said
    assert row["money_status"] == ("dry_run" if key is None else "test_mode")
    assert row["explanation"] == _page_told(shop, auth, decision_id) == DRY_TOLD
    assert _json_row(shop, auth)["explanation"] == DRY_TOLD
    shop.runtime.engine.dispose()


def test_a_live_stripe_refund_keeps_its_explanation_in_the_csv_exactly_as_stored(
    sqlite_url: str, now: datetime, stripe_server: FakeStripeServer
) -> None:
    shop = _shop(sqlite_url, now, stripe_server, "sk_live_fake")
    decision_id, auth = _approved_and_paid(shop)
    assert stripe_server.fake.refunded("pay_o-1") == 2500  # real money moved
    row = _csv_row(shop, auth)

    assert row["money_status"] == "succeeded"
    assert row["explanation"] == _stored(shop) == f"{TOLD} {PROMISE}"
    assert _json_row(shop, auth)["explanation"] == f"{TOLD} {PROMISE}"
    assert _page_told(shop, auth, decision_id) == f"{TOLD} {PROMISE}"
    shop.runtime.engine.dispose()
