"""A return sent to a person: the customer is not told to send anything back yet; once decided,
the status page says one thing (approved, or not accepted) and shows the reviewer's note for
the customer, which the finance API takes beside the internal note."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from werkzeug.test import TestResponse

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import ledger_entries, reviews
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event
from tests.fakes.stripe_api import FakeStripeServer

KEYS = ["attempt_ids", "decided_by", "note", "status"]


@pytest.fixture
def db_shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now, {"policy": "preset:standard-30-day"})
    s.seed(order_event("1001"))
    yield s
    s.close()


def _sent_to_review(shop: ReturnsShop) -> tuple[TestResponse, str, str]:
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1", "line-0-reason": "other"})
    page = answer.get_data(as_text=True)
    link = re.search(r'href="(/returns/status/[^"]+)"', page)
    ref = re.search(r"Your reference: ([0-9a-f-]{36})", page)
    assert link and ref
    return answer, link.group(1), ref.group(1)


def _decide(shop: ReturnsShop, ref: str, now: datetime, **body: str) -> None:
    admin = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    resp = shop.app.test_client().post(f"/api/reviews/{ref}", json=body,
                                       headers={"Authorization": f"Bearer {admin}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _review_entry(shop: ReturnsShop, ref: str) -> dict[str, object]:
    (body,) = [r[3] for r in shop.rows(ledger_entries)
               if r[1] == "review_decided" and r[2] == ref]
    return dict(json.loads(body))


def test_a_return_sent_to_review_does_not_ask_for_the_item_yet(db_shop: ReturnsShop) -> None:
    answer, link, _ = _sent_to_review(db_shop)

    assert words(answer, "outcome") == ["We need a quick check"]
    # the amount is what a person may grant, not yet granted
    assert words(answer, "answer-lead") + words(answer, "amount") == [
        "If our team approves it, you get:", "Refund to your original payment: 19.05 USD"]
    assert words(answer, "send-back") == [
        "Please don't send anything back yet: our team will tell you what to do once they "
        "have checked your return."]
    status = db_shop.app.test_client().get(link)
    assert words(status, "outcome") == [
        "Our team is checking your return. We will let you know the answer. "
        "Received on 24 November 2026."]  # nothing is decided yet: no decision date
    assert "Please send back" not in text(status)
    # no answer yet, so nothing to rate: neither the answer page nor the status page asks
    assert "How did we do?" not in text(answer) and "How did we do?" not in text(status)


def test_a_declined_review_says_so_once_with_the_reviewers_note_for_the_customer(
    db_shop: ReturnsShop, now: datetime
) -> None:
    _, link, ref = _sent_to_review(db_shop)

    _decide(db_shop, ref, now, action="decline", note="3rd 'other' return this month",
            customer_note="We could not see a problem with the mug.")

    status = db_shop.app.test_client().get(link)
    assert words(status, "outcome") == [
        "Our team looked at your return and could not accept it. Decided on 24 November 2026."]
    assert words(status, "notice customer-note") == [
        "A note from our team: We could not see a problem with the mug."]
    assert "quick check" not in text(status) and "checking" not in text(status)
    assert "3rd" not in text(status)  # the internal note stays inside
    assert "How did we do?" in text(status)  # the answer is final: now it is asked
    assert _review_entry(db_shop, ref)["customer_note"] == (
        "We could not see a problem with the mug.")
    assert db_shop.counts()["refund_attempts"] == 0


@pytest.mark.parametrize(("accept", "heading"), [
    ("en", "Where your return is"), ("de", "Wo Ihre Rücksendung gerade ist"),
])
def test_a_declined_review_is_headed_as_a_return_not_as_money_that_never_comes(
    db_shop: ReturnsShop, now: datetime, accept: str, heading: str,
) -> None:
    """Declined, no money moves: the page is "Where your return is", as for a decline by the
    policy, not "Where your money is" (the review's amount, never granted, said otherwise)."""
    _, link, ref = _sent_to_review(db_shop)
    _decide(db_shop, ref, now, action="decline", note="no")

    page = db_shop.app.test_client().get(link, headers={"Accept-Language": accept})
    html = page.get_data(as_text=True)
    assert re.findall(r"<h1>(.*?)</h1>", html) == [heading]
    assert re.search(r"<title>(.*?) · ", html).group(1) == heading  # type: ignore[union-attr]
    assert db_shop.counts()["refund_attempts"] == 0


@pytest.mark.parametrize(("accept", "line", "link"), [
    ("en", "Return of Blue enamel mug requested on 24 November 2026: not accepted.",
     "Follow your return"),
    ("de", "Rücksendung von Blue enamel mug, beantragt am 24. November 2026: nicht angenommen.",
     "Ihre Rücksendung verfolgen"),
])
def test_the_order_page_lists_a_declined_review_with_a_link_to_the_return_not_the_money(
    db_shop: ReturnsShop, now: datetime, accept: str, line: str, link: str,
) -> None:
    """The order's earlier returns: a declined one links "Follow your return", as its answer
    and status page are worded, not "Follow your money" for money that never comes."""
    _, status, ref = _sent_to_review(db_shop)
    _decide(db_shop, ref, now, action="decline", note="no")

    client = db_shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    form = open_form(client)
    assert words(form, "earlier-return") == [f"{line} {link}"]
    assert f'<a href="{status}">{link}</a>' in form.get_data(as_text=True)


def test_an_approved_review_says_approved_and_what_to_send_and_keeps_the_old_entry_shape(
    db_shop: ReturnsShop, now: datetime
) -> None:
    _, link, ref = _sent_to_review(db_shop)

    _decide(db_shop, ref, now, action="approve", note="fine")

    status = db_shop.app.test_client().get(link)
    assert words(status, "outcome") == [
        "Our team checked your return and approved it. Decided on 24 November 2026."]
    assert words(status, "send-back") == ["Please send back: Blue enamel mug."]
    assert "quick check" not in text(status) and "customer-note" not in status.get_data(
        as_text=True)
    assert sorted(_review_entry(db_shop, ref)) == KEYS  # no customer_note key when none given


def test_a_review_decided_days_later_is_dated_by_the_persons_decision(
    any_db_url: str, now: datetime
) -> None:
    clock = [now]
    shop = ReturnsShop(any_db_url, lambda: clock[0], {"policy": "preset:standard-30-day"})
    try:
        shop.seed(order_event("1001"))
        _, link, ref = _sent_to_review(shop)
        clock[0] = now + timedelta(days=2)

        _decide(shop, ref, clock[0], action="approve", note="fine")

        status = shop.app.test_client().get(link)
        assert words(status, "outcome") == [
            "Our team checked your return and approved it. Decided on 26 November 2026."]
    finally:
        shop.close()


def test_an_approval_whose_refund_failed_keeps_its_decision_date_while_a_person_looks(
    stripe_shop: ReturnsShop, stripe_server: FakeStripeServer,
) -> None:
    client = stripe_shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    assert link
    assert "How did we do?" in text(answer)  # approved at once: the answer page asks
    stripe_server.fake.dispute("pi_1001")  # Stripe refuses the refund: a review opens
    stripe_shop.drain()
    assert [r[2] for r in stripe_shop.rows(reviews)] == ["open"]  # status

    status = client.get(link.group(1))

    assert words(status, "outcome") == [  # one state, not "approved" and "checking" both
        "Your return is approved, and our team is now looking at it again. We will let you "
        "know what happens next. Decided on 24 November 2026."]  # not "Received on"
    assert "Our team is checking your return" not in text(status)
    assert "How did we do?" in text(status)  # the customer was answered when it was recorded
    assert words(status, "stage stage-failed")[0].startswith(
        "Refund to your original payment: 25.00 USD Failed: the payment provider could not "
        "complete it.")
