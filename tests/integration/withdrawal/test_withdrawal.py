"""The EU withdrawal function end to end: the two steps on the returns page, the statement
recorded once (row, journal entry, receipt email, event), the return it becomes on the law's
terms (everything back, delivery included, no fee, held only until the first scan), a late
statement recorded and sent to a person, and every refusal recording nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.finance.withdrawals import COLUMNS
from refunds_plugin.intake import withdrawals as wd
from refunds_plugin.ledger.tables import (
    decisions,
    outbox,
    refund_attempts,
    return_shipments,
    reviews,
    withdrawals,
)
from tests.fakes import Clock
from tests.fakes.easypost_api import sign, tracker_event
from tests.fakes.returns_client import FOCUSED_SUMMARY, error_summary, field
from tests.integration.shipping.conftest import EASYPOST_SECRET
from tests.integration.withdrawal.conftest import EMAIL, Shop, words

RECEIPT_TEXT = (
    "We received your withdrawal from the contract on 24 November 2026, 12:00:07 UTC.\n\n"
    "Your statement:\nI hereby withdraw from my contract for the items below.\n\n"
    "Name: Anna Schmidt\nOrder: 1001\n- 2 × Mug\n\n"
    "Keep this email: it is your confirmation of the content of your withdrawal and the "
    "date and time we received it.\n")


def test_a_confirmed_withdrawal_is_recorded_once_with_its_receipt_to_the_second(
    shop: Shop, clock: Clock
) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, 531_000, tzinfo=UTC)
    client = shop.h.client()
    form = shop.open(client)
    assert "Step 1 of 2" in words(form)
    assert "You can withdraw from your contract until 4 November 2026" not in words(form)
    # dates as every returns page writes them, never "December 4, 2026"; delivered at 09:00
    assert ("You can withdraw from your contract until 5 December 2026, 08:59 UTC. You do not "
            "need to give a reason.") in words(form)
    values = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL}
    summary = shop.step(client, form, "review", **values)
    assert summary.status_code == 200
    said = words(summary)
    assert ("Confirm your withdrawal Step 2 of 2 I hereby withdraw from my contract for the "
            "items below. Name Anna Schmidt Order 1001 Items 2 × Mug Confirmation to "
            "anna@example.com Confirm withdrawal Change") in said
    assert shop.recorded()["withdrawals"] == 0  # the summary records nothing

    done = shop.step(client, summary, "confirm", **values)
    again = shop.step(client, summary, "confirm", **values)  # a double click / a reload
    shop.h.drain()

    for page in (done, again):
        assert page.status_code == 200
        assert ("We received your withdrawal from order 1001 on 24 November 2026, 12:00:07 UTC. "
                "We have sent a confirmation to anna@example.com. 2 × Mug") in words(page)
    [row] = shop.h.rows(withdrawals)
    assert (row.order_id, row.name, row.email, json.loads(row.lines), row.whole_order,
            row.in_period) == ("1001", "Anna Schmidt", EMAIL,
                               [{"line_id": "l1", "name": "Mug", "quantity": 2}], True, True)
    assert row.received_at.replace(tzinfo=UTC) == datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    assert row.legal_deadline.replace(tzinfo=UTC) == datetime(2026, 12, 8, 12, 0, 7, tzinfo=UTC)
    [entry] = shop.journal("withdrawal_received")
    assert entry == ("withdrawal_received", row.id, {
        "withdrawal_id": row.id, "order_id": "1001", "name": "Anna Schmidt", "email": EMAIL,
        "lines": [{"line_id": "l1", "name": "Mug", "quantity": 2}], "whole_order": True,
        "statement": "I hereby withdraw from my contract for the items below.",
        "received_at": "2026-11-24T12:00:07+00:00", "period_ends": "2026-12-05T09:00:00+00:00",
        "in_period": True, "legal_deadline": "2026-12-08T12:00:07+00:00"})
    receipts = [m for m in shop.smtp.received if m.subject.startswith("Receipt")]
    [mail] = receipts
    assert mail.subject == "Receipt of your withdrawal from order 1001"
    assert mail.rcpt_tos == [EMAIL]
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.part("plain") == RECEIPT_TEXT
    assert "24 November 2026, 12:00:07 UTC" in mail.part("html")
    assert "<li>2 × Mug</li>" in mail.part("html")
    cause = f"withdrawal:{row.id}"
    assert sorted((r.kind, r.status) for r in shop.h.rows(outbox) if r.cause == cause) == [
        ("withdrawal.received", "skipped"), ("withdrawal_receipt", "sent")]  # no outbound URL
    assert len(shop.h.rows(decisions)) == 1  # one return, however often it was confirmed
    assert row.decision_id == shop.h.rows(decisions)[0].id
    assert shop.h.chain_problem() is None
    assert verify_ledger(shop.h.runtime.engine) == []


def test_the_return_it_becomes_pays_everything_back_with_delivery_and_no_fee_at_first_scan(
    shop: Shop,
) -> None:
    shop.paid()  # 2 × 25.00 USD and 5.00 USD delivery
    shop.withdraw(shop.h.client())
    shop.h.drain()

    [dec] = shop.h.rows(decisions)
    body = json.loads(dec.body)
    assert (dec.outcome, dec.amount, body["shipping_refund"], body["fees"]) == (
        "approve", 5500, 500, [])
    assert [(r["kind"], r["amount"]) for r in body["resolutions"]] == [("refund", 5500)]
    assert body["explanation"] == (
        "Your return of 2 × Mug is approved. We will refund 55.00 USD to your original payment. "
        "This includes 5.00 USD for the original shipping. Please send back: 2 × Mug. Your refund "
        "is sent once the carrier first scans your parcel. It will then be on its way within 48 "
        "hours.")
    assert shop.attempts() == [("refund", 5500, "held")]
    [ship] = shop.h.rows(return_shipments)
    assert (json.loads(ship.refund_on), ship.label_fee) == ({"refund": "first_scan"}, 0)
    assert shop.stripe.fake.refunds == []

    desk = shop.h.runtime.shipping_desk
    assert desk is not None
    desk.run_once()  # the label
    [ship] = shop.h.rows(return_shipments)
    event = tracker_event("evt_1", ship.tracking_code, "in_transit", "2026-11-24T12:00:00Z")
    raw = json.dumps(event).encode()
    resp = shop.h.client().post("/webhooks/easypost", data=raw, headers={
        "X-Hmac-Signature": sign(raw, EASYPOST_SECRET), "Content-Type": "application/json"})
    assert resp.status_code == 200
    shop.h.drain()
    assert shop.attempts() == [("refund", 5500, "succeeded")]
    assert [r["amount"] for r in shop.stripe.fake.refunds] == [5500]


def test_chosen_lines_come_back_in_full_and_the_delivery_stays_with_the_rest_of_the_order(
    shop: Shop,
) -> None:
    shop.paid(lines=[
        {"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_amount": 2500},
        {"id": "l2", "sku": "TEE-1", "name": "Shirt", "quantity": 1, "unit_amount": 4000}])
    done = shop.withdraw(shop.h.client(), scope="some", **{
        "line-0-id": "l1", "line-0-qty": "1", "line-1-id": "l2", "line-1-qty": "0"})
    shop.h.drain()

    assert "1 × Mug" in words(done)
    [row] = shop.h.rows(withdrawals)
    assert (json.loads(row.lines), row.whole_order) == (
        [{"line_id": "l1", "name": "Mug", "quantity": 1}], False)
    [dec] = shop.h.rows(decisions)
    body = json.loads(dec.body)
    assert (dec.amount, body["shipping_refund"], body["fees"]) == (2500, 0, [])
    assert shop.attempts() == [("refund", 2500, "held")]


def test_a_late_withdrawal_is_explained_recorded_flagged_and_sent_to_a_person(
    shop: Shop,
) -> None:
    shop.paid(delivered_at="2026-11-01T09:00:00Z")  # 23 days before now; the period is 14
    client = shop.h.client()
    form = shop.open(client)
    assert ("The withdrawal period for this order ended on 16 November 2026, 08:59 UTC. You can "
            "still send your withdrawal: we will record it, and a member of our team will review "
            "it and write to you.") in words(form)

    done = shop.withdraw(client)
    shop.h.drain()

    assert ("Your withdrawal reached us after the withdrawal period for this order ended on "
            "16 November 2026, 08:59 UTC. We have recorded it all the same; a member of our "
            "team will review it and write to you.") in words(done)
    [row] = shop.h.rows(withdrawals)
    assert row.in_period is False or row.in_period == 0
    [(_t, _s, body)] = shop.journal("withdrawal_received")
    assert (body["in_period"], body["period_ends"]) == (False, "2026-11-16T09:00:00+00:00")
    [dec] = shop.h.rows(decisions)
    assert (dec.outcome, dec.reason_code, dec.amount) == ("review", "outside_window_review", 5500)
    assert [r.status for r in shop.h.rows(reviews)] == ["open"]
    assert shop.h.rows(refund_attempts) == []
    assert [m.subject for m in shop.smtp.received if m.subject.startswith("Receipt")] == [
        "Receipt of your withdrawal from order 1001"]


def test_a_german_reader_is_told_the_minute_the_period_ends(shop: Shop) -> None:
    shop.paid()  # delivered 20 November 09:00 UTC: open until 5 December 08:59:59.999999
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"

    form = shop.open(client)

    assert ("Sie können Ihren Vertrag bis zum 5. Dezember 2026, 08:59 Uhr UTC widerrufen. Sie "
            "müssen keinen Grund angeben.") in words(form)


def test_a_bad_csrf_token_a_wrong_email_or_a_bad_form_records_nothing(shop: Shop) -> None:
    shop.paid()
    before = shop.recorded()

    stranger = shop.h.client()
    wrong = shop.open(stranger, email="someone@example.com")
    assert wrong.status_code == 404
    assert stranger.get("/returns/withdraw").status_code == 200  # the look-up again
    refused = stranger.post("/returns/withdraw", data={
        "csrf_token": field(wrong, "csrf_token"), "form_token": "x", "step": "confirm",
        "name": "Mallory", "scope": "all", "email": "m@example.com"})
    assert refused.status_code == 400

    client = shop.h.client()
    form = shop.open(client)
    values = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL}
    summary = shop.step(client, form, "review", **values)
    forged = client.post("/returns/withdraw", data={
        "csrf_token": "not-the-token", "form_token": field(summary, "form_token"),
        "step": "confirm", **values})
    assert forged.status_code == 400
    assert "This form has expired" in words(forged)

    bad = shop.step(client, form, "confirm", name=" ", scope="some", email="anna@",
                    **{"line-0-id": "l1", "line-0-qty": "0"})
    assert bad.status_code == 400
    assert ("There is a problem Please enter your full name. Please enter a valid email address "
            "for your confirmation. Please choose at least one item, or the whole order.") \
        in words(bad)
    too_many = shop.step(client, form, "confirm", scope="some", name="Anna", email=EMAIL,
                         **{"line-0-id": "l1", "line-0-qty": "3"})
    assert too_many.status_code == 400
    assert "Mug: choose how many to return, from 0 to 2." in words(too_many)

    shop.h.drain()
    assert shop.recorded() == before
    assert shop.smtp.received == []


def test_in_test_mode_the_receipt_and_every_other_email_open_with_the_banner(
    shop_with: Callable[..., Shop],
) -> None:
    shop = shop_with(stripe_api_key="")  # no key: the dry run pays
    shop.paid()
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE"

    assert shop.withdraw(client).status_code == 200
    shop.h.drain()

    sent = {r.kind: r.id for r in shop.h.rows(outbox) if r.status == "sent"}
    assert sorted(sent) == ["approved", "request_received", "withdrawal_receipt"]
    # the receipt in the form's language; the return's mails in the order's (none: English)
    banners = {f"<{sent['withdrawal_receipt']}@harbour.example>":
               "Dieser Shop ist im Testmodus: Es wird kein Geld bewegt."}
    assert len(shop.smtp.received) == 3
    for mail in shop.smtp.received:
        banner = banners.get(mail.message["Message-ID"],
                             "This shop is in test mode: no money moves.")
        assert mail.part("plain").startswith(f"{banner}\n\n"), mail.subject
        assert f">{banner}</p>" in mail.part("html"), mail.subject
    assert [m.subject for m in shop.smtp.received] == [
        "Eingangsbestätigung Ihres Widerrufs zu Bestellung 1001",
        "We received your return request for order 1001", "Your return for order 1001 is approved"]


def test_a_form_error_focuses_the_summary_which_links_to_each_field_at_fault(
    shop: Shop,
) -> None:
    shop.paid()
    client = shop.h.client()
    form = shop.open(client)

    bad = shop.step(client, form, "review", name=" ", scope="some", email="anna@",
                    **{"line-0-id": "l1", "line-0-qty": "0"})

    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    # as on the returns form: the summary takes the focus (no script) and links to the fields
    assert error_summary(html) == (FOCUSED_SUMMARY, [
        '<ul><li><a href="#name">Please enter your full name.</a></li>'
        '<li><a href="#email">Please enter a valid email address for your confirmation.</a></li>'
        '<li><a href="#line-0-qty">Please choose at least one item, or the whole order.</a>'
        '</li></ul>'])
    flat = " ".join(html.split())
    assert ('<p class="field-error" id="name-error">Please enter your full name.</p> '
            '<input id="name" name="name" type="text" autocomplete="name" required '
            'maxlength="200" value=" " aria-invalid="true" aria-describedby="name-error">') in flat
    assert ('<input id="email" name="email" type="email" autocomplete="email" required '
            'maxlength="320" value="anna@" aria-invalid="true" '
            'aria-describedby="email-error">') in flat
    assert ('<select id="line-0-qty" name="line-0-qty" aria-invalid="true" '
            'aria-describedby="line-0-qty-error">') in flat
    assert html.count('aria-invalid="true"') == 3  # only the fields at fault
    too_many = shop.step(client, form, "review", scope="some", name="Anna", email=EMAIL,
                         **{"line-0-id": "l1", "line-0-qty": "3"})
    assert error_summary(too_many.get_data(as_text=True))[1] == [
        '<ul><li><a href="#line-0-qty">Mug: choose how many to return, from 0 to 2.</a></li></ul>']
    assert too_many.get_data(as_text=True).count('aria-invalid="true"') == 1


def test_it_is_offered_only_when_enabled_and_delivered_to_a_listed_country(
    shop_with: object,
) -> None:
    make = shop_with
    us = make(withdrawal_countries=("DE", "AT"))  # type: ignore[operator]
    us.paid(address={"name": "Ann", "street": "1 Elm", "city": "Boston", "postal_code": "02108",
                     "country": "US"})
    client = us.h.client()
    order_page = client.get("/returns/order")
    assert order_page.status_code == 303  # no session yet
    lookup = client.get("/returns")
    assert "Withdraw from contract here" in words(lookup)  # the shop offers it
    page = us.open(client)
    assert page.status_code == 404
    assert "The withdrawal function is not available for this order." in words(page)
    assert "Withdraw from contract here" not in words(client.get("/returns/order"))
    us.h.close()

    off = make(withdrawal_enabled=False)  # type: ignore[operator]
    off.paid("1002")  # the same database: another order
    client = off.h.client()
    assert "Withdraw from contract here" not in words(client.get("/returns"))
    assert off.open(client, "1002").status_code == 404
    assert off.h.count(withdrawals) == 0


def test_finance_sees_each_withdrawal_with_its_legal_deadline(shop: Shop, clock: Clock) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    shop.h.drain()
    [row] = shop.h.rows(withdrawals)
    token = create_token(shop.h.runtime.engine, "Fin", "finance", clock()).secret
    auth = {"Authorization": f"Bearer {token}"}

    listed = shop.h.client().get("/api/withdrawals", headers=auth)
    period = "since=2026-11-20&until=2026-11-25"
    page = shop.h.client().get(f"/finance/summary?{period}", headers=auth)
    summary = shop.h.client().get(f"/api/summary?{period}", headers=auth).json

    expected = {
        "withdrawal_id": row.id, "order_id": "1001", "name": "Anna Schmidt", "email": EMAIL,
        "lines": [{"line_id": "l1", "name": "Mug", "quantity": 2}],
        "received_at": "2026-11-24T12:00:07+00:00",
        "legal_deadline": "2026-12-08T12:00:07+00:00", "in_period": True,
        "decision_id": row.decision_id, "status": "waiting", "currency": "USD", "amount": 5500,
        "refunded": 0, "refunded_at": None, "met": None, "overdue": False}
    assert listed.status_code == 200
    assert listed.json == {"data": [expected]}
    assert summary is not None and summary["withdrawals"] == {
        "received": 1, "overdue": 0, "items": [expected]}
    text = words(page)
    assert ("EU withdrawals 1 withdrawal(s) received; 0 past the legal deadline without their "
            "money returned.") in text
    assert ("2026-11-24 12:00 UTC 1001 Anna Schmidt 2026-12-08 12:00 UTC waiting 55.00 USD "
            "open") in text

    # a second past the deadline, the goods neither back nor sent (no carrier scan): the law
    # lets the shop withhold the money until then, so it is not overdue
    clock.now = datetime(2026, 12, 8, 12, 0, 8, tzinfo=UTC)
    late = shop.h.client().get("/api/withdrawals?format=csv", headers=auth)
    assert late.get_data(as_text=True).splitlines() == [
        ",".join(COLUMNS) + ",amount_decimal,refunded_decimal",
        f"{row.id},1001,Anna Schmidt,{EMAIL},2 x Mug,2026-11-24T12:00:07+00:00,"
        f"2026-12-08T12:00:07+00:00,True,{row.decision_id},waiting,USD,5500,0,,,False,"
        "55.00,0.00"]
    assert shop.h.client().get("/api/withdrawals?since=2026-11-25", headers=auth).json == {
        "data": []}
    assert shop.h.client().get("/api/withdrawals").status_code == 401


def test_an_edited_or_deleted_withdrawal_is_found_by_verify(shop: Shop, clock: Clock) -> None:
    shop.paid()
    clock.now = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    shop.withdraw(shop.h.client())
    [row] = shop.h.rows(withdrawals)
    engine = shop.h.runtime.engine
    assert verify_ledger(engine) == []

    with engine.begin() as conn:  # someone moves the receipt a day later
        conn.execute(update(withdrawals).where(withdrawals.c.id == row.id).values(
            received_at=datetime(2026, 11, 25, 12, 0, 7, tzinfo=UTC)))
    [problem] = verify_ledger(engine)
    assert (problem.where, problem.problem) == (f"withdrawals row {row.id} (order 1001)",
                                                "row_edited")
    assert problem.detail.endswith(
        "received_at is '2026-11-25T12:00:07+00:00' but the journal says "
        "'2026-11-24T12:00:07+00:00'")

    with engine.begin() as conn:
        conn.execute(delete(withdrawals))
    [problem] = verify_ledger(engine)
    assert (problem.where, problem.problem) == (f"withdrawals row {row.id}", "row_missing")


def test_a_withdrawal_whose_process_stopped_before_deciding_is_decided_by_the_sweep(
    shop: Shop, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement and its return are two transactions: a process that stops between them
    leaves a recorded withdrawal without a decision. The executor's loop decides it, once."""
    shop.paid()
    with monkeypatch.context() as m:  # the process stops after recording the statement
        m.setattr(wd, "become_return", lambda service, w: None)
        page = shop.withdraw(shop.h.client())
    assert page.status_code == 200
    [row] = shop.h.rows(withdrawals)
    assert row.decision_id is None and shop.h.rows(decisions) == []
    executor = shop.h.runtime.executor
    assert executor is not None and executor.poller is not None

    clock.advance(10)  # the request that recorded it may still be deciding: left alone
    executor.poller()
    assert shop.h.rows(decisions) == []
    clock.advance(30)
    executor.poller()
    executor.poller()  # a second round (or a second worker) decides nothing more
    [dec] = shop.h.rows(decisions)
    [row] = shop.h.rows(withdrawals)
    assert (row.decision_id, dec.outcome, dec.amount) == (dec.id, "approve", 5500)
    assert shop.attempts() == [("refund", 5500, "held")]


def test_the_sweep_passes_over_a_withdrawal_that_cannot_be_read_and_decides_the_next(
    shop: Shop, clock: Clock, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two statements recorded by a process that stopped before deciding them, the first
    one's stored lines cut short: the sweep decides the second, once, and names the first
    once (never its lines); it is never guessed at, and later rounds pass over it."""
    monkeypatch.setattr(wd, "_UNREADABLE", set(), raising=False)  # named once per process
    shop.paid()
    shop.paid("1002")
    values = {"name": "Anna Schmidt", "scope": "all", "email": EMAIL}
    with monkeypatch.context() as m:  # the process stops after recording each statement
        m.setattr(wd, "become_return", lambda service, w: None)
        shop.withdraw(shop.h.client())
        clock.advance(1)
        client = shop.h.client()
        summary = shop.step(client, shop.open(client, "1002"), "review", **values)
        assert shop.step(client, summary, "confirm", **values).status_code == 200
    [bad] = shop.h.rows(withdrawals, order_id="1001")
    with shop.h.runtime.engine.begin() as conn:
        conn.execute(update(withdrawals).where(withdrawals.c.id == bad.id)
                     .values(lines='[{"line_id": "l1", "name": "Mu'))
    executor = shop.h.runtime.executor
    assert executor is not None and executor.poller is not None
    clock.advance(40)
    caplog.clear()

    executor.poller()
    executor.poller()  # a second round decides nothing more, names nothing again

    [dec] = shop.h.rows(decisions)
    assert (dec.order_id, dec.outcome, dec.amount) == ("1002", "approve", 5500)
    assert sorted((w.order_id, w.decision_id) for w in shop.h.rows(withdrawals)) == [
        ("1001", None), ("1002", dec.id)]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"withdrawal {bad.id} of order 1001: its return is not decided: its stored lines "
        "(withdrawals.lines) cannot be read (not valid JSON: Unterminated string starting at: "
        "line 1 column 28 (char 27)); a person must repair the row (the legal deadline is "
        f"{bad.legal_deadline.date().isoformat()})"]
    assert '"Mu' not in caplog.text


def test_a_person_approving_a_late_withdrawal_cannot_give_less_than_the_law(
    shop: Shop, clock: Clock
) -> None:
    shop.paid(delivered_at="2026-11-01T09:00:00Z")  # late: its return waits for a person
    shop.withdraw(shop.h.client())
    shop.h.drain()
    [dec] = shop.h.rows(decisions)
    admin = create_token(shop.h.runtime.engine, "Ada", "admin", clock()).secret
    client = shop.h.client()

    def review(**body: object) -> tuple[int, str, str]:
        resp = client.post(f"/api/reviews/{dec.id}", json={"action": "approve", "note": "ok",
                                                            **body},
                           headers={"Authorization": f"Bearer {admin}"})
        error = resp.get_json().get("error") or {}
        return resp.status_code, error.get("code", ""), error.get("message", "")

    before = shop.recorded()
    assert review(amount=5000) == (  # money as money, never "5500 (minor units)"
        400, "withdrawal_minimum", "a withdrawal's refund cannot be less than the 55.00 USD "
                                   "the law gives")
    assert review(resolution="credit")[:2] == (400, "withdrawal_minimum")
    assert shop.recorded() == before  # nothing written
    assert [r.status for r in shop.h.rows(reviews)] == ["open"]
    assert shop.journal("review_decided") == []

    assert review()[:2] == (200, "")
    assert shop.attempts() == [("refund", 5500, "held")]  # all of it, until the first scan
