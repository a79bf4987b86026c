"""A carrier's tracking update for a return whose stored row cannot be read (edited by hand, cut
short by a partial restore) is recorded and answered 200, so EasyPost does not retry it
forever: the row is left exactly as it was (its held money still held) for a person, one error
names the return, and the other customers' updates go on as before."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import events, return_shipments
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping import conftest as shipping
from tests.integration.shipping.conftest import Returns, cut_at, desk_round

CUT = '{"refund": "first_sc'  # return_shipments.refund_on cut short
WHY = cut_at(11)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "refunds.easypost" and rec.levelname == "ERROR"]


@pytest.fixture
def labelled(returns_service: Callable[..., Returns], smtp: SmtpSink,
             erp: Receiver) -> tuple[Returns, dict[str, str]]:
    """Orders 1001 and 1002, each with a mug's return and its label bought."""
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    desk_round(r)
    return r, decided


def test_a_tracking_update_for_a_return_that_cannot_be_read_is_recorded_and_left_for_a_person(
    labelled: tuple[Returns, dict[str, str]], caplog: pytest.LogCaptureFixture,
) -> None:
    r, decided = labelled
    bad, good = decided["1002"], decided["1001"]
    codes = {row.decision_id: row.tracking_code for row in r.h.rows(return_shipments)}
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(return_shipments).where(return_shipments.c.decision_id == bad)
                     .values(refund_on=CUT))
    before = r.h.rows(return_shipments, decision_id=bad)
    tracked_before = len(r.journal("return_tracking"))
    caplog.clear()

    answer = r.track("evt_bad", codes[bad], "in_transit")

    note = (f"the return of decision {bad}, order 1002: in_transit not applied: its stored "
            f"return (return_shipments) cannot be read ({WHY}); a person must repair the row "
            "and apply the status")
    assert (answer.status_code, answer.json) == (
        200, {"received": True, "duplicate": False, "note": note})
    recorded = r.h.rows(events, source="easypost")
    assert [(e.event_id, e.type, e.status, e.note) for e in recorded] == [
        ("evt_bad", "tracker.updated", "processed", note)]
    assert json.loads(recorded[0].payload)["result"]["status"] == "in_transit"
    assert r.h.rows(return_shipments, decision_id=bad) == before  # untouched, for a person
    assert len(r.journal("return_tracking")) == tracked_before
    assert _errors(caplog) == [f"tracker update evt_bad: {note}"]
    assert CUT not in caplog.text

    # EasyPost's copy of the delivery is a replay, not a second try at a 500
    assert r.track("evt_bad", codes[bad], "in_transit").status_code == 400
    # the other customer's parcel moves as before, and releases their held refund
    assert r.track("evt_good", codes[good], "in_transit").status_code == 200
    r.h.drain()

    assert shipping.where_they_stand(r) == (
        {"1001": ("in_transit", "bought"), "1002": ("label_created", "bought")},
        [("1001", "succeeded", 2500), ("1002", "held", 2500)])
    assert r.h.rows(return_shipments, decision_id=bad) == before
    assert len(_errors(caplog)) == 1
