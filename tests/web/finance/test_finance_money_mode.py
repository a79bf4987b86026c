"""Every finance page says when Stripe money does not really move, so an admin approving a
review in a dry run or test mode knows it pays nothing; with a live key the pages say nothing."""

from __future__ import annotations

import re
from datetime import datetime

from refunds_plugin.finance.tokens import create_token
from tests.fakes.finance_scene import Scene, csrf
from tests.fakes.shop import Shop

DRY_RUN = ("Dry run: REFUNDS_STRIPE_API_KEY is not set, so no money moves for orders paid "
           "through Stripe. Decisions and review approvals are recorded, but nothing is sent "
           "to Stripe.")


def notice(html: str) -> list[str]:
    return re.findall(r'<p class="money-mode" id="money-mode" role="note">([^<]*)</p>', html)


def test_a_dry_run_is_said_on_the_review_queue_and_after_an_approval(scene: Scene) -> None:
    client = scene.login(scene.admin)
    for path in ("/finance/", "/finance/reviews", f"/finance/decisions/{scene.review_id}",
                 "/finance/summary"):
        assert notice(client.get(path).get_data(as_text=True)) == [DRY_RUN], path
    done = client.post(f"/finance/reviews/{scene.review_id}", data={
        "action": "approve", "note": "ok", "csrf_token": csrf(client, "/finance/reviews")},
        follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Approved the review of order o-2." in html
    assert notice(html) == [DRY_RUN]


def test_a_test_key_is_said_and_a_live_key_says_nothing(sqlite_url: str, now: datetime) -> None:
    for key, said in (("sk_test_x", ["Test mode: Stripe is called with a test key, so no real "
                                     "money moves for orders paid through Stripe. Decisions and "
                                     "review approvals are recorded as if paid."]),
                      ("sk_live_x", [])):
        shop = Shop(sqlite_url, now, stripe_api_key=key)
        token = create_token(shop.runtime.engine, f"Ada {key}", "admin", now).secret
        client = shop.app.test_client()
        assert notice(client.get("/finance/login").get_data(as_text=True)) == []  # not before
        client.post("/finance/login", data={"token": token,
                                            "csrf_token": csrf(client, "/finance/login")})
        assert notice(client.get("/finance/reviews").get_data(as_text=True)) == said, key
        shop.runtime.engine.dispose()



def test_a_shop_gone_live_still_reads_its_dry_run_attempts_as_moving_no_money(
    sqlite_url: str, now: datetime,
) -> None:
    # the refund went to the dry run; the shop then set a live key
    shop = Shop(sqlite_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    assert shop.ask_return("o-1", "r-1")["outcome"] == "approve"
    shop.pay_out()
    shop.runtime.engine.dispose()
    live = Shop(sqlite_url, now, stripe_api_key="sk_live_x")
    token = create_token(live.runtime.engine, "Fin", "finance", now).secret
    headers = {"Authorization": f"Bearer {token}"}
    client = live.app.test_client()
    page = client.get("/finance/", headers=headers).get_data(as_text=True)
    assert notice(page) == []
    assert '<td data-label="Money" class="money-dry_run">dry_run</td>' in page
    assert ("Money <code>dry_run</code>: the dry-run provider carried it out, so no money "
            "moved (even if the service moves money now); <code>test_mode</code>: Stripe "
            "carried it out in its test mode (a test key), so no real money moved.") in page
    assert "the service runs in dry run" not in page
    summary = client.get("/finance/summary", headers=headers).get_data(as_text=True)
    assert ("<dt>Kept (no return)</dt><dd>the value of the items customers keep without "
            "sending them back, in returns approved by the policy or a person: the final amount "
            "when every item stays, the kept items' value when other items of the same return "
            "come back. It is also in refunded, credited, dry run or Stripe test mode;") in summary
    assert '<td data-label="Dry run" class="num">25.00 EUR</td>' in summary
    live.runtime.engine.dispose()
