"""``/returns`` through the Flask test client: look-ups, refusals, one return per form, status."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from refunds_plugin.config import ConfigError, load_config
from refunds_plugin.ledger.attempts import transition
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, events
from refunds_plugin.notify import links
from tests.fakes.returns_client import (
    FOCUSED_SUMMARY,
    error_summary,
    field,
    lookup,
    open_form,
    submit,
    words,
)
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

ITEMS = ("Blue enamel mug", "Linen shirt")


def _page(resp: TestResponse) -> str:
    """The page without its per-response CSP nonce."""
    return re.sub(r'nonce="[^"]+"', 'nonce=""', resp.get_data(as_text=True))


def _no_items(resp: TestResponse) -> None:
    text = resp.get_data(as_text=True)
    assert not [name for name in ITEMS if name in text]


def test_the_right_email_in_any_case_shows_each_line_and_until_when_it_can_go_back(
    shop: ReturnsShop,
) -> None:
    form = open_form(shop.app.test_client())
    text = form.get_data(as_text=True)

    assert "Blue enamel mug" in text and "Linen shirt" in text
    assert "25.00 USD each" in text
    # default preset: 365 days from payment on 2026-11-01 at 10:00 UTC
    assert text.count("You can return this until 2 November 2027, 09:59 UTC.") == 2
    assert '<label for="line-0-qty">How many to return</label>' in text
    assert "Harbour &amp; Co" in text


@pytest.mark.parametrize("typed", [
    "ana@xn--exmple-cua.com",  # what Chromium sends for "ana@exämple.com" typed in type=email
    "Ana@Exämple.COM",
    "ana@exa\u0308mple.com",  # the same letters decomposed (NFD), as some keyboards send them
])
def test_an_email_with_an_accented_domain_finds_the_order_in_the_form_a_browser_sends_it(
    sqlite_url: str, now: datetime, typed: str
) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now)
    shop.seed(order_event("1001", email="ana@exämple.com"))
    try:
        resp = lookup(shop.app.test_client(), "1001", typed)
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/returns/order"
    finally:
        shop.close()


def test_a_different_accented_domain_is_still_not_the_customer(
    sqlite_url: str, now: datetime
) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now)
    shop.seed(order_event("1001", email="ana@exämple.com"))
    try:
        # "exömple.com", punycoded: another domain, so another person
        assert lookup(shop.app.test_client(), "1001", "ana@xn--exmple-xxa.com").status_code == 404
    finally:
        shop.close()


def test_a_wrong_email_and_an_unknown_order_get_the_same_answer_and_nothing_is_disclosed(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()
    before = shop.snapshot()

    wrong = lookup(client, "1001", "someone.else@example.com")
    unknown = lookup(client, "9999", "someone.else@example.com")

    assert wrong.status_code == unknown.status_code == 404
    assert _page(wrong) == _page(unknown).replace("9999", "1001")
    assert "We could not find an order with that number and email address." in wrong.get_data(
        as_text=True)
    _no_items(wrong)
    assert client.get("/returns/order").status_code == 303  # no order was opened
    assert shop.snapshot() == before


def test_wrong_emails_lock_the_order_for_guessers_but_not_for_the_customer(
    shop: ReturnsShop,
) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_ORDER"] = "3 per 15 minutes"
    before = shop.snapshot()

    def ask(email: str, ip: str) -> TestResponse:
        return lookup(shop.app.test_client(), "1001", email, environ_base={"REMOTE_ADDR": ip})

    guesses = [ask(f"guess{i}@example.com", f"10.0.0.{i}").status_code for i in range(3)]
    stranger = ask("guess9@example.com", "10.0.0.9")
    guesser = ask(EMAIL, "10.0.0.1")  # one of the guessers, now with the right email
    customer = ask(EMAIL.lower(), "10.0.0.20")  # the customer, from their own address

    assert guesses == [404, 404, 404]
    assert (stranger.status_code, guesser.status_code) == (429, 429)
    assert "Too many attempts. For your security, please wait 15 minutes before trying " \
        "again." in stranger.get_data(as_text=True)
    _no_items(stranger)
    _no_items(guesser)
    assert customer.status_code == 303  # others' failures do not lock the customer out
    assert shop.snapshot() == before


def test_right_emails_never_count_against_the_order(shop: ReturnsShop) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_ORDER"] = "2 per 15 minutes"

    codes = [lookup(shop.app.test_client(), "1001", EMAIL,
                    environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code for _ in range(4)]

    assert codes == [303, 303, 303, 303]


def test_only_a_refused_look_up_says_when_to_retry(shop: ReturnsShop) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_IP"] = "2 per hour"
    client = shop.app.test_client()

    found, missing, refused = (lookup(client, number, EMAIL) for number in ("1001", "7", "8"))

    assert (found.status_code, missing.status_code, refused.status_code) == (303, 404, 429)
    assert ("Retry-After" in found.headers, "Retry-After" in missing.headers) == (False, False)
    assert found.headers["X-RateLimit-Remaining"] == "1"
    assert int(refused.headers["Retry-After"]) > 0


def test_too_many_look_ups_from_one_address_are_refused_across_orders(shop: ReturnsShop) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_IP"] = "2 per hour"
    client = shop.app.test_client()

    codes = [lookup(client, number, EMAIL).status_code for number in ("7", "8", "1001")]

    assert codes == [404, 404, 429]
    assert client.get("/returns/order").status_code == 303


def test_a_form_sent_without_its_csrf_token_is_refused_and_nothing_is_recorded(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()
    form = open_form(client)
    before = shop.snapshot()

    resp = client.post("/returns/order", data={
        "csrf_token": "forged", "form_token": field(form, "form_token"), "line-0-id": "l1",
        "line-0-qty": "1", "line-0-reason": "changed_mind"})

    assert resp.status_code == 400
    assert "This form has expired" in resp.get_data(as_text=True)
    assert shop.snapshot() == before


def test_a_form_with_no_item_picked_asks_again_and_records_nothing(shop: ReturnsShop) -> None:
    client = shop.app.test_client()
    form = open_form(client)
    before = shop.snapshot()

    resp = submit(client, form, **{"line-0-qty": "0", "line-1-qty": "1"})

    assert resp.status_code == 400
    assert "Please choose a reason for Linen shirt." in resp.get_data(as_text=True)
    assert shop.snapshot() == before


def test_a_missing_reason_marks_its_field_invalid_and_the_summary_links_to_it_with_focus(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()
    form = open_form(client)

    resp = submit(client, form, **{"line-0-qty": "0", "line-1-qty": "1"})

    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    # the summary takes focus (no script: the pages' CSP allows none) and links to the field
    assert error_summary(html) == (FOCUSED_SUMMARY, [
        '<ul><li><a href="#line-1-reason">Please choose a reason for Linen shirt.</a></li></ul>'])
    # the field is invalid and described by its own message, shown beside it
    assert ('<p class="field-error" id="line-1-reason-error">Please choose a reason for Linen '
            'shirt.</p>') in html
    assert ('<select id="line-1-reason" name="line-1-reason" aria-invalid="true" '
            'aria-describedby="line-1-reason-error">') in html
    assert html.count('aria-invalid="true"') == 1  # only the field at fault
    assert '<select id="line-0-reason" name="line-0-reason">' in html


def test_nothing_picked_links_the_summary_to_the_first_quantity(shop: ReturnsShop) -> None:
    client = shop.app.test_client()

    resp = submit(client, open_form(client), **{"line-0-qty": "0", "line-1-qty": "0"})

    html = resp.get_data(as_text=True)
    assert re.findall(r"<ul><li>.*?</li></ul>", html) == [
        '<ul><li><a href="#line-0-qty">Please choose at least one item to return.</a></li></ul>']
    assert re.search(r'<select id="line-0-qty"[^>]*>', re.sub(r"\s+", " ", html)).group(0) == (
        '<select id="line-0-qty" name="line-0-qty" aria-describedby="line-0-when '
        'line-0-qty-error" aria-invalid="true">')


@pytest.fixture
def any_shop(any_db_url: str, now: datetime) -> ReturnsShop:
    s = ReturnsShop(any_db_url, lambda: now)
    s.seed(order_event("1001"))
    return s


def test_submitting_the_same_form_twice_decides_one_return_with_one_attempt(
    any_shop: ReturnsShop,
) -> None:
    shop = any_shop
    client = shop.app.test_client()
    form = open_form(client)
    picked = {"line-0-qty": "1", "line-0-reason": "changed_mind", "comment": "Too big"}

    first = submit(client, form, **picked)
    second = submit(client, form, **picked)

    assert first.status_code == second.status_code == 200
    ref = re.search(r"Your reference: ([0-9a-f-]{36})", first.get_data(as_text=True))
    assert ref and ref.group(1) in second.get_data(as_text=True)
    text = first.get_data(as_text=True)
    assert "Your return is approved" in text
    assert "Refund to your original payment: 25.00 USD" in text
    assert "Please send back: Blue enamel mug." in text
    counts = shop.counts()
    assert (counts["decisions"], counts["refund_attempts"], counts["events"]) == (1, 1, 2)
    (attempt,) = shop.runtime.service.attempts_of(ref.group(1))
    assert (attempt.kind, attempt.amount, attempt.payment_reference, attempt.status) == (
        "refund", 2500, "pi_1001", "pending")
    (event,) = [e for e in shop.rows(events) if e[1] == "returns_page"]
    assert event[3] == "return.requested"
    assert "Ann" not in event[5]  # the email never reaches the inbox payload
    shop.close()


def test_sending_redirects_to_the_answer_so_back_and_reload_never_post_again(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()
    form = open_form(client)
    data = {"csrf_token": field(form, "csrf_token"), "form_token": field(form, "form_token"),
            "line-0-id": "l1", "line-0-qty": "1", "line-0-reason": "changed_mind"}

    posted = client.post("/returns/order", data=data)
    again = client.post("/returns/order", data=data)  # a double click: the first decision
    answer = client.get(posted.headers["Location"])
    reload = client.get(posted.headers["Location"])

    assert (posted.status_code, again.status_code) == (303, 303)
    (decision_id,) = [row[0] for row in shop.rows(decisions)]
    token = links.status_token(shop.app.config["SECRET_KEY"], decision_id)
    assert posted.headers["Location"] == again.headers["Location"] == f"/returns/answer/{token}"
    assert answer.status_code == reload.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.get_data(as_text=True) == reload.get_data(as_text=True)
    assert words(answer, "outcome") == ["Your return is approved"]
    assert words(answer, "amount") == ["Refund to your original payment: 25.00 USD"]
    assert words(answer, "send-back") == ["Please send back: Blue enamel mug."]
    assert words(answer, "reference") == [f"Your reference: {decision_id}"]
    assert words(answer, "explanation") == [
        "Your return of 1 × Blue enamel mug is approved. Dry run: we would refund 25.00 USD "
        "to your original payment; no money moves. Please send back: Blue enamel mug."]
    assert f'href="/returns/status/{token}"' in answer.get_data(as_text=True)
    counts = shop.counts()
    assert (counts["decisions"], counts["refund_attempts"]) == (1, 1)
    # the answer's link opened in another browser shows the same answer, and nothing more is
    # recorded; a changed link shows nothing
    stranger = shop.app.test_client().get(posted.headers["Location"])
    assert words(stranger, "reference") == [f"Your reference: {decision_id}"]
    forged = shop.app.test_client().get(posted.headers["Location"][:-2] + "xx")
    assert forged.status_code == 404 and "Blue enamel mug" not in forged.get_data(as_text=True)
    assert shop.counts() == counts


def _decided(shop: ReturnsShop) -> tuple[FlaskClient, str, str]:
    client = shop.app.test_client()
    answer = submit(client, open_form(client),
                     **{"line-0-qty": "1", "line-0-reason": "changed_mind"})
    text = answer.get_data(as_text=True)
    link = re.search(r'href="(/returns/status/[^"]+)"', text)
    ref = re.search(r"Your reference: ([0-9a-f-]{36})", text)
    assert link and ref
    return client, link.group(1), ref.group(1)


def test_the_status_page_follows_the_money_from_requested_to_received(
    stripe_shop: ReturnsShop,
) -> None:
    shop = stripe_shop
    _, link, _ = _decided(shop)
    stranger = shop.app.test_client()  # the link works without the session

    before = stranger.get(link)
    shop.drain()
    after = stranger.get(link)

    assert before.status_code == after.status_code == 200
    assert 'data-stage="requested"' in before.get_data(as_text=True)
    assert "Refund to your original payment: 25.00 USD" in before.get_data(as_text=True)
    assert 'data-stage="received"' in after.get_data(as_text=True)
    assert "within 5 to 10 business days" in after.get_data(as_text=True)


def test_the_status_page_says_when_a_refund_failed_and_what_happens_next(
    shop: ReturnsShop, now: datetime
) -> None:
    _, link, ref = _decided(shop)
    (attempt,) = shop.runtime.service.attempts_of(ref)
    with write_tx(shop.runtime.engine) as conn:
        assert transition(conn, attempt.id, "failed", now, expect=("pending",),
                          error="card_declined")

    page = shop.app.test_client().get(link)
    text = page.get_data(as_text=True)

    assert 'data-stage="failed"' in text
    assert "Our team has been told and will put it right" in text
    # the failure opened a review: one state, approved and looked at again, said once
    assert words(page, "outcome") == [
        "Your return is approved, and our team is now looking at it again. We will let you "
        "know what happens next. Decided on 24 November 2026."]
    assert "Your return is approved." not in text
    assert "Our team is checking your return" not in text


def test_the_status_page_shows_an_unanswered_refund_as_sent_not_as_failed(
    shop: ReturnsShop, now: datetime
) -> None:
    _, link, ref = _decided(shop)
    (attempt,) = shop.runtime.service.attempts_of(ref)
    with write_tx(shop.runtime.engine) as conn:  # the provider never answered: it may have paid
        assert transition(conn, attempt.id, "unknown", now, expect=("pending",),
                          error="gave up after 8 tries: timeout")

    text = shop.app.test_client().get(link).get_data(as_text=True)

    assert 'data-stage="sent"' in text
    assert 'data-stage="failed"' not in text and 'data-stage="requested"' not in text
    # a person looks (the review is open): said once, in the outcome, not beside "approved"
    assert text.count("our team is now looking at it again") == 1
    assert "Our team is checking your return" not in text


@pytest.mark.parametrize("tamper", [
    # not the very last character: its low bits are base64 padding, and changing only those
    # leaves the signature's bytes (and its validity) unchanged about one time in sixteen
    pytest.param(lambda link: link[:-5] + ("A" if link[-5] != "A" else "B") + link[-4:],
                 id="signature-char"),
    pytest.param(lambda link: link.replace(".", "x", 1), id="signature-cut"),
    pytest.param(lambda link: "/returns/status/not-a-token", id="garbage"),
])
def test_a_tampered_status_link_answers_404_and_discloses_nothing(
    shop: ReturnsShop, tamper: object
) -> None:
    _, link, _ = _decided(shop)
    before = shop.snapshot()

    resp = shop.app.test_client().get(tamper(link))  # type: ignore[operator]

    assert resp.status_code == 404
    assert "This status link is not valid" in resp.get_data(as_text=True)
    _no_items(resp)
    assert "25.00" not in resp.get_data(as_text=True)
    assert shop.snapshot() == before


def test_a_status_link_signed_with_another_key_is_refused(shop: ReturnsShop) -> None:
    from itsdangerous import URLSafeSerializer

    _, _, ref = _decided(shop)
    forged = URLSafeSerializer("not-the-shop-key", salt="returns-status").dumps(ref)

    resp = shop.app.test_client().get(f"/returns/status/{forged}")

    assert resp.status_code == 404
    _no_items(resp)


def test_the_look_up_limits_are_set_by_refunds_variables(sqlite_url: str, now: datetime) -> None:
    env = {"REFUNDS_RETURNS_LOOKUP_LIMIT_IP": "50 per hour",
           "REFUNDS_RETURNS_LOOKUP_LIMIT_ORDER": "2 per 15 minutes"}
    config = load_config(env=env)
    assert (config.returns_lookup_limit_ip, config.returns_lookup_limit_order) == (
        "50 per hour", "2 per 15 minutes")
    with pytest.raises(ConfigError) as bad:
        load_config(env={"REFUNDS_RETURNS_LOOKUP_LIMIT_ORDER": "often"})
    assert str(bad.value) == (
        "REFUNDS_RETURNS_LOOKUP_LIMIT_ORDER='often' is not valid: expected a rate such as "
        "'5 per 15 minutes' or '20/hour'")
    shop = ReturnsShop(sqlite_url, lambda: now, {"returns_lookup_limit_order": "2 per 15 minutes"})
    shop.seed(order_event("1001"))

    codes = [lookup(shop.app.test_client(), "1001", f"g{i}@example.com",
                    environ_base={"REMOTE_ADDR": f"10.0.2.{i}"}).status_code for i in range(3)]

    assert codes == [404, 404, 429]
    shop.close()
