"""A due label whose return's stored rows cannot be read (its decision's body or its return row,
edited by hand or cut short by a partial restore) never stalls the shipping desk: it is
recorded without a label (``failed``, code ``unreadable``, why in words a person reads), an
error names the decision and order once, the other customers' labels are bought exactly once,
and nothing is asked of the carrier again for it. A return row that cannot be read is left
as it is by the reminder and expiry sweeps (its held money still held), which go on with the
others."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import url_for
from sqlalchemy import update
from werkzeug.test import TestResponse

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, follow_ups, outbox, return_shipments
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping import conftest as shipping
from tests.integration.shipping.conftest import Returns, cut_at, desk_round
from webhooks.returns.views import status_token

# what each corruption stores where, and which row the return's last_error says cannot be
# read, and how
DECISION, RETURN = "decision (decisions.body)", "return (return_shipments)"
WRONG = "JSON of the wrong shape: TypeError"
CORRUPT = {
    "body not JSON": (decisions, "body", '{"outcome": "approve", "resolu', DECISION, cut_at(23)),
    "body of the wrong shape": (decisions, "body", '["approve", 2500]', DECISION, WRONG),
    "return address cut": (return_shipments, "address", '{"name": "Our ret', RETURN, cut_at(9)),
    "parcel of the wrong shape": (return_shipments, "parcel", '{"grams": 500}', RETURN, WRONG),
}
DAY = 86400
REMINDER = "Reminder: please send back your return for order 1001 by "


def _status_page_of(r: Returns, decision_id: str, readable: bool) -> None:
    """The customer's status page: the address and date without a label when the rows it reads
    can be read; else what can be, and one sentence in the customer's language saying so."""
    with r.h.app.test_request_context():
        url = url_for("returns.status", token=status_token(decision_id))
    pages = {lang: r.h.client().get(url, headers={"Accept-Language": lang})
             for lang in ("en", "de")}
    if readable:  # the page reads no parcel
        assert pages["en"].status_code == 200
        page = re.sub(r"\s+", " ", pages["en"].get_data(as_text=True))
        assert "Send your parcel to:" in page and "1 Dock Rd" in page
        assert "label-link" not in page and "on its way: this page" not in page
        return
    # what can be read (the money, the state) and one sentence in the customer's language
    assert {lang: page.status_code for lang, page in pages.items()} == {"en": 200, "de": 200}
    assert {lang: _notice(page) for lang, page in pages.items()} == {
        "en": "Part of your return's record cannot be read right now, so this page shows only "
              "what can be. Our team has been told and will look at it; you don't need to do "
              "anything.",
        "de": "Ein Teil der Daten Ihrer Rücksendung kann gerade nicht gelesen werden, daher "
              "zeigt diese Seite nur, was lesbar ist. Unser Team ist informiert und kümmert "
              "sich darum; Sie müssen nichts tun."}


def _notice(page: TestResponse) -> str:
    found = re.search(r'<p class="notice unreadable" role="status">(.*?)</p>',
                      page.get_data(as_text=True), re.S)
    assert found is not None, page.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", found.group(1))).strip()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "refunds.shipping" and rec.levelname == "ERROR"]


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_a_due_label_that_cannot_be_read_is_recorded_and_the_next_customers_label_is_bought(
    returns_service: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
    caplog: pytest.LogCaptureFixture, corruption: str,
) -> None:
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    table, column, stored, at_fault, how = CORRUPT[corruption]
    # the desk buys due labels in (due time, decision id) order: both are due at once, so
    # the first in that order is the one that cannot be read
    bad, good = sorted(decided.values())
    order = {v: k for k, v in decided.items()}
    key = decisions.c.id if table is decisions else return_shipments.c.decision_id
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(table).where(key == bad).values({column: stored}))
    caplog.clear()

    desk_round(r)

    why = (f"no label bought: its stored {at_fault} cannot be read ({how}); a person must "
           "repair the row and send the customer a label")
    shipments = {row.decision_id: (row.status, row.label_status, row.last_error)
                 for row in r.h.rows(return_shipments)}
    assert shipments[bad] == ("instructions", "failed", why)
    assert shipments[good][:2] == ("label_created", "bought")
    bought = r.easypost.fake.bought
    assert [s["reference"] for s in bought] == [f"refunds-return-{good}"]
    assert [body for _, body in r.journal("return_label")] == [
        {"label_status": "failed", "note": why, "code": "unreadable"},
        {"label_status": "bought", "shipment_id": bought[0]["id"],
         "tracking_code": bought[0]["tracking_code"], "carrier": "USPS",
         "service": "GroundAdvantage", "amount": 745, "currency": "USD"}]
    # the good customer gets their label; nothing is written to the other from a bad row
    assert [(json.loads(m.context)["order_id"], m.status)
            for m in r.h.rows(outbox, kind="label_ready")] == [(order[good], "sent")]
    labels = [m.subject for m in smtp.received if "return label" in m.subject]
    assert labels == [f"Your return label for order {order[good]}"]
    assert _errors(caplog) == [
        f"the return label of decision {bad}, order {order[bad]}, cannot be bought: {why}"]
    assert stored not in caplog.text
    _status_page_of(r, bad, readable=column == "parcel")
    if table is decisions:  # the warehouse's and finance's list still shows it, label failed
        token = create_token(r.h.runtime.engine, "Dock", "warehouse", r.h.clock()).secret
        listed = r.h.client().get("/api/returns", headers={"Authorization": f"Bearer {token}"})
        names = {d["decision_id"]: (d["status"], d["label_status"],
                                    [ln["name"] for ln in d["lines"]])
                 for d in listed.get_json()["data"]}
        assert names == {bad: ("instructions", "failed", []),
                         good: ("label_created", "bought", ["Mug"])}
    assert stored not in caplog.text

    calls = list(r.easypost.fake.calls)
    r.h.clock.advance(3600)  # a later round buys nothing more, asks the carrier nothing
    desk_round(r)
    r.h.clock.advance(86400)
    desk_round(r)

    assert r.easypost.fake.calls == calls
    assert len(r.easypost.fake.bought) == 1
    assert {row.decision_id: (row.status, row.label_status, row.last_error)
            for row in r.h.rows(return_shipments)} == shipments
    assert len(r.journal("return_label")) == 2
    assert len(_errors(caplog)) == 1


def test_the_reminder_and_expiry_sweeps_go_on_past_a_return_row_that_cannot_be_read(
    returns_service: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    desk_round(r)  # both labels bought
    bad = decided["1002"]
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(return_shipments).where(return_shipments.c.decision_id == bad)
                     .values(refund_on='{"refund": "first_sc'))
    caplog.clear()
    said = ("its stored return (return_shipments) cannot be read (not valid JSON: Unterminated "
            "string starting at: line 1 column 12 (char 11)): not reminded nor expired until a "
            "person repairs the row")
    error = f"the return of decision {bad}, order 1002: {said}"

    r.h.clock.advance(25 * DAY + 60)  # five days (less a minute) before the return-by date
    desk_round(r)

    reminded = [m.subject for m in smtp.received if m.subject.startswith("Reminder")]
    assert [s[:len(REMINDER)] for s in reminded] == [REMINDER]
    assert [row.last_error for row in r.h.rows(return_shipments, decision_id=bad)] == [said]
    assert _errors(caplog) == [error]

    r.h.clock.advance(13 * DAY)  # past the return-by date and its grace
    desk_round(r)
    desk_round(r)

    # 1001 expired, its held refund canceled and label voided; 1002 left as it was, its
    # refund still held for a person: nothing canceled or paid on a row nobody can read
    assert shipping.where_they_stand(r) == (
        {"1001": ("expired", "voided"), "1002": ("label_created", "bought")},
        [("1001", "canceled", 2500), ("1002", "held", 2500)])
    assert [m.subject for m in smtp.received if "expired" in m.subject] == [
        "Your return for order 1001 has expired"]
    assert _errors(caplog) == [error]
    assert '"first_sc' not in caplog.text


FEE_POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, paid_by: customer, fee: "4.00", return_by_days: 30}
"""


@pytest.mark.parametrize("corruption", ["body not JSON", "return address cut"])
def test_a_label_refused_because_its_rows_cannot_be_read_puts_it_in_front_of_a_person_once(
    returns_service: Callable[..., Returns], corruption: str,
) -> None:
    """The customer was told a label is on its way, as for a label not bought after every try:
    a ``label_failed`` follow-up names the return, the row to repair and the fee to give back."""
    r = returns_service(FEE_POLICY)
    r.paid()
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])[
        "decision_id"]
    table, column, stored, at_fault, how = CORRUPT[corruption]
    key = decisions.c.id if table is decisions else return_shipments.c.decision_id
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(table).where(key == decision).values({column: stored}))

    r.labels()
    r.h.clock.advance(3600)
    r.labels()  # a later round opens no second one

    assert [(f.kind, f.subject, f.order_id, f.status, f.detail)
            for f in r.h.rows(follow_ups)] == [(
        "label_failed", decision, "1001", "open",
        f"Return {decision} of order 1001: no prepaid label (its stored {at_fault} cannot be "
        f"read ({how})). The customer was told a label was on its way and now has the return "
        "address and return-by date only; repair the row, then send them a label or tell them "
        "to post it themselves. The 4.00 USD label fee was deducted from their refund for a "
        "label they did not get: give it back to them.")]
    assert r.easypost.fake.bought == []
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    listed = r.h.client().get("/api/follow-ups",
                              headers={"Authorization": f"Bearer {token}"}).get_json()["data"]
    assert [(d["kind"], d["decision_id"], d["status"]) for d in listed] == [
        ("label_failed", decision, "open")]
