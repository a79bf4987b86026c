"""Post, redirect, get on the withdrawal form: every post is answered with a redirect (303) to a
page of its own, so the browser's back button and a reload show a page again and never post
the form once more; the receipt stays at its own address, with or without the session."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions, withdrawals
from tests.fakes import Clock
from tests.fakes.returns_client import field
from tests.integration.withdrawal.conftest import EMAIL, Shop, words

VALUES = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL}
RECEIVED = ("Your withdrawal has been received We received your withdrawal from order 1001 on "
            "24 November 2026, 12:00:07 UTC. We have sent a confirmation to anna@example.com. "
            "2 × Mug")


def _flat(page: TestResponse) -> str:
    return " ".join(page.get_data(as_text=True).split())


def test_each_step_redirects_so_back_and_reload_show_a_page_and_record_one_withdrawal(
    shop: Shop, clock: Clock
) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    client = shop.h.client()
    form = shop.open(client)

    reviewed = shop.post(client, form, "review", **VALUES)
    assert (reviewed.status_code, reviewed.headers["Location"]) == (
        303, "/returns/withdraw/confirm")
    summary = client.get("/returns/withdraw/confirm")
    reloaded = client.get("/returns/withdraw/confirm")
    for page in (summary, reloaded):
        assert page.status_code == 200
        assert ("Confirm your withdrawal Step 2 of 2 I hereby withdraw from my contract for the "
                "items below. Name Anna Schmidt Order 1001 Items 2 × Mug Confirmation to "
                "anna@example.com Confirm withdrawal Change") in words(page)
    assert shop.h.count(withdrawals) == 0  # the summary records nothing

    confirmed = shop.post(client, summary, "confirm", **VALUES)
    assert confirmed.status_code == 303
    receipt_url = confirmed.headers["Location"]
    assert receipt_url.startswith("/returns/withdraw/received/")
    receipt = client.get(receipt_url)
    reload = client.get(receipt_url)
    back = client.get("/returns/withdraw/confirm")  # back from the receipt: the receipt again
    back_to_step1 = client.get("/returns/withdraw")
    elsewhere = shop.h.client().get(receipt_url)  # its own address: no session needed
    resent = shop.post(client, summary, "confirm", **VALUES)  # the old post, sent anyway
    shop.h.drain()

    for page in (receipt, reload, elsewhere):
        assert page.status_code == 200
        assert RECEIVED in words(page)
    assert (back.status_code, back.headers["Location"]) == (303, receipt_url)
    assert (resent.status_code, resent.headers["Location"]) == (303, receipt_url)
    assert back_to_step1.status_code == 200
    assert "A return has been requested for everything in this order." in words(back_to_step1)
    [row] = shop.h.rows(withdrawals)
    assert (row.order_id, row.name) == ("1001", "Anna Schmidt")
    assert len(shop.h.rows(decisions)) == 1
    assert [m.subject for m in shop.smtp.received if m.subject.startswith("Receipt")] == [
        "Receipt of your withdrawal from order 1001"]


def test_a_step_to_fix_or_to_change_is_shown_by_get_with_the_fields_kept(shop: Shop) -> None:
    shop.paid()
    client = shop.h.client()
    form = shop.open(client)

    bad = shop.post(client, form, "review", name=" ", scope="all", email="anna@")
    shown = client.get("/returns/withdraw")
    reloaded = client.get("/returns/withdraw")
    early = client.get("/returns/withdraw/confirm")  # no step 2 before step 1 is right

    assert (bad.status_code, bad.headers["Location"]) == (303, "/returns/withdraw")
    for page in (shown, reloaded):
        assert page.status_code == 400
        assert ("There is a problem Please enter your full name. Please enter a valid email "
                "address for your confirmation.") in words(page)
        assert 'maxlength="320" value="anna@"' in _flat(page)
        assert field(page, "form_token") == field(form, "form_token")  # the same form
    assert (early.status_code, early.headers["Location"]) == (303, "/returns/withdraw")

    shop.post(client, shown, "review", **VALUES)
    summary = client.get("/returns/withdraw/confirm")
    change = shop.post(client, summary, "edit", **VALUES)
    again = client.get("/returns/withdraw")

    assert (change.status_code, change.headers["Location"]) == (303, "/returns/withdraw")
    assert again.status_code == 200
    assert "There is a problem" not in words(again)
    assert 'maxlength="200" value="Anna Schmidt"' in _flat(again)
    assert shop.h.count(withdrawals) == 0


def test_a_receipt_link_that_is_not_ours_shows_no_withdrawal(shop: Shop) -> None:
    shop.paid()
    client = shop.h.client()
    url = shop.withdraw(client).request.path

    forged = shop.h.client().get(url[:-4] + "AAAA")
    other = shop.h.client().get("/returns/withdraw/received/not-a-token")

    for page in (forged, other):
        assert page.status_code == 404
        assert "This link does not work" in words(page)
        assert "Anna Schmidt" not in words(page)
