"""A decision made while the shop ran its dry run, approved by a person after it went live
(a real Stripe key): its page says what the customer was told when it was decided (test mode,
no time for the money) and, apart from it, what really moved (the refund Stripe made), never
"nothing" for money that moved."""

from __future__ import annotations

from datetime import datetime, timedelta

from refunds_plugin.finance.tokens import create_token
from tests.fakes.finance_scene import csrf
from tests.fakes.shop import Shop
from tests.fakes.stripe_api import FakeStripeServer

POLICY = "preset:standard-30-day"  # "other" goes to a person


def test_a_dry_run_decision_approved_after_going_live_says_the_refund_really_moved(
    sqlite_url: str, now: datetime, stripe_server: FakeStripeServer
) -> None:
    dry = Shop(sqlite_url, now, policy=POLICY)  # no Stripe key: the dry run
    dry.order("o-7", 50000, "fritz@example.com")
    answer = dry.send("return.requested", {"return": {
        "id": "r-7", "order_id": "o-7",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "other"}],
        "requested_at": (now - timedelta(hours=1)).isoformat(),
    }})
    assert (answer["outcome"], answer["dry_run"]) == ("review", True)
    dry.runtime.engine.dispose()

    # the shop goes live: the same database, a live Stripe key
    stripe_server.fake.add_payment_intent(50000, "EUR", "pay_o-7")
    live = Shop(sqlite_url, now, policy=POLICY, stripe_api_key="sk_live_fake",
                stripe_api_base=stripe_server.url, stripe_max_network_retries=0)
    admin = live.app.test_client()
    secret = create_token(live.runtime.engine, "Ada Admin", "admin", now).secret
    admin.post("/finance/login", data={"token": secret,
                                       "csrf_token": csrf(admin, "/finance/login")})
    resp = admin.post(f"/finance/reviews/{answer['decision_id']}", data={
        "action": "approve", "note": "a regular", "amount": "400.00",
        "csrf_token": csrf(admin, "/finance/reviews")})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    live.pay_out()
    assert stripe_server.fake.refunded("pay_o-7") == 40000  # real money moved

    page = admin.get(f"/finance/decisions/{answer['decision_id']}").get_data(as_text=True)

    assert ("<dt>Told the customer</dt><dd>no time for the money: when it was decided no money "
            "could move (a dry run or a Stripe test key), so the answer to the storefront gave "
            "none, and the returns pages and emails read “This shop is in test mode: no money "
            "moves.”</dd>") in page
    assert '<dt>Money moved</dt><dd class="moved">400.00 EUR refunded through stripe</dd>' in page
    assert "nothing: test mode" not in page
    live.runtime.engine.dispose()
