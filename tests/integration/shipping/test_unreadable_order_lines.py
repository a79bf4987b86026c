"""An order whose stored lines (``orders.lines``) cannot be read (edited by hand, a partial
restore) loses only its items' names: its return's label, reminder, expiry and scans still
change, their messages still go out naming the item by its line id, a warning names the order,
and the other returns of the same sweep go as usual."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import orders, outbox, refund_attempts, return_shipments
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import (
    BOTH_EXPIRED,
    Returns,
    desk_round,
    notify_warnings,
    two_mailed_returns,
    where_they_stand,
)

DAY = 86400
TRUNCATED = '[{"id": "l1", "sku": "MUG-1", "name": "Mu'  # a restore cut short
WARNING = ("order 1002's stored lines (orders.lines) cannot be read (JSONDecodeError: "
           "Unterminated string starting at: line 1 column 39 (char 38)): its messages and "
           "pages name the items by their line ids until a person repairs the row")


@pytest.fixture
def two_returns(returns_service: Callable[..., Returns], smtp: SmtpSink,
                erp: Receiver) -> tuple[Returns, dict[str, str]]:
    """Orders 1001 and 1002, one mug returned from each (its refund held until the first
    scan), then 1002's stored lines truncated: the decision ids by order."""
    r, decided = two_mailed_returns(returns_service, smtp.url)
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.order_id == "1002").values(lines=TRUNCATED))
    return r, decided


def _told(r: Returns, kind: str) -> dict[str, tuple[str, list[str], list[str]]]:
    """Each ``kind`` message by order: its status, what goes back and the items' names."""
    found = {}
    for row in r.h.rows(outbox, kind=kind):
        context = json.loads(row.context)
        found[context["order_id"]] = (row.status, context["send_back"],
                                      [item["name"] for item in context["items"]])
    return found


def _events(erp: Receiver, type_: str) -> dict[str, list[str]]:
    """Each ``type_`` event the merchant received, by order: the items' names."""
    return {p["data"]["order_id"]: [i["name"] for i in p["data"]["items"]]
            for _, p in erp.verified if p["type"] == type_}


def test_the_label_reminder_and_expiry_sweeps_go_on_past_an_order_whose_lines_are_unreadable(
    two_returns: tuple[Returns, dict[str, str]], smtp: SmtpSink, erp: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r, _ = two_returns
    before = len(smtp.received)

    desk_round(r)  # both labels bought: each customer gets theirs

    shipped = {row.order_id: (row.status, row.label_status)
               for row in r.h.rows(return_shipments)}
    assert shipped == {"1001": ("label_created", "bought"), "1002": ("label_created", "bought")}
    assert _told(r, "label_ready") == {"1001": ("sent", ["Mug"], ["Mug"]),
                                       "1002": ("sent", ["l1"], ["l1"])}
    labels = {m.subject: m.part("plain") for m in smtp.received[before:]}
    assert sorted(labels) == ["Your return label for order 1001",
                              "Your return label for order 1002"]
    assert "\n- 1 × Mug: 25.00 USD\n" in labels["Your return label for order 1001"]
    assert "\n- 1 × l1: 25.00 USD\n" in labels["Your return label for order 1002"]
    assert notify_warnings(caplog) == [WARNING]

    r.h.clock.advance(25 * DAY + 60)  # five days (less a minute) before the return-by date
    desk_round(r)

    assert _told(r, "return_reminder") == {"1001": ("sent", ["Mug"], ["Mug"]),
                                           "1002": ("sent", ["l1"], ["l1"])}
    assert notify_warnings(caplog) == [WARNING] * 2

    r.h.clock.advance(13 * DAY)  # past the return-by date and its grace
    desk_round(r)

    assert where_they_stand(r) == BOTH_EXPIRED  # the held refunds canceled, labels voided
    assert _told(r, "return_expired") == {"1001": ("sent", ["Mug"], ["Mug"]),
                                          "1002": ("sent", ["l1"], ["l1"])}
    assert _events(erp, "return.expired") == {"1001": ["Mug"], "1002": ["l1"]}
    assert sorted(m.subject for m in smtp.received if "expired" in m.subject) == [
        "Your return for order 1001 has expired", "Your return for order 1002 has expired"]
    # one warning per cause: the expiry's mail and event share their context
    assert notify_warnings(caplog) == [WARNING] * 3
    assert "MUG-1" not in caplog.text and TRUNCATED not in caplog.text
    assert {getattr(rec, "order_id", None) for rec in caplog.records
            if rec.name == "refunds.notify"} == {"1002"}


def test_a_scan_of_a_parcel_whose_order_lines_are_unreadable_is_recorded_and_releases_its_refund(
    two_returns: tuple[Returns, dict[str, str]], erp: Receiver, smtp: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r, decided = two_returns
    desk_round(r)
    codes = {row.order_id: row.tracking_code for row in r.h.rows(return_shipments)}

    answers = [r.track(f"evt_scan_{order}", codes[order], "in_transit").status_code
               for order in ("1002", "1001")]
    r.h.drain()

    assert answers == [200, 200]
    assert sorted((row.order_id, row.status) for row in r.h.rows(return_shipments)) == [
        ("1001", "in_transit"), ("1002", "in_transit")]
    assert sorted((a.order_id, a.status, int(a.amount)) for a in r.h.rows(refund_attempts)) == [
        ("1001", "succeeded", 2500), ("1002", "succeeded", 2500)]
    assert _events(erp, "return.in_transit") == {"1001": ["Mug"], "1002": ["l1"]}
    moved = [p["data"] for _, p in erp.verified if p["type"] == "return.in_transit"]
    assert sorted((e["decision_id"], e["status"]) for e in moved) == sorted(
        (decided[order], "in_transit") for order in ("1001", "1002"))
    assert sorted(m.subject for m in smtp.received if "on its way" in m.subject) == [
        "Your refund of 25.00 USD for order 1001 is on its way",
        "Your refund of 25.00 USD for order 1002 is on its way",
        "Your return for order 1001 is on its way to us",
        "Your return for order 1002 is on its way to us"]
    scanned = {m.subject.split()[4]: m.part("plain") for m in smtp.received
               if m.subject.endswith("is on its way to us")}
    assert ("- 1 × Mug: 25.00 USD" in scanned["1001"], "- 1 × l1: 25.00 USD" in scanned["1002"]) \
        == (True, True)  # the unreadable order's item named by its line id, as its other mails
    # the label's mail, then the scan's event and mail, which share one reading of the order
    # (the refund's mail names no item: no warning)
    assert notify_warnings(caplog) == [WARNING] * 2


def test_the_status_page_of_a_return_whose_order_lines_are_unreadable_names_the_item_by_its_id(
    two_returns: tuple[Returns, dict[str, str]], caplog: pytest.LogCaptureFixture,
) -> None:
    r, decided = two_returns

    good, bad = r.status_page(decided["1001"]), r.status_page(decided["1002"])

    # the page opens; what goes back names the item by its line id (the explanation was
    # written when the return was decided, names and all)
    assert '<p class="send-back">Please send back: Mug.</p>' in good
    assert '<p class="send-back">Please send back: l1.</p>' in bad
    assert notify_warnings(caplog) == [WARNING]
