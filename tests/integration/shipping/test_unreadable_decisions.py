"""A decision whose stored body (``decisions.body``) or explanation ids (``decisions.said``)
cannot be read (edited by hand, a partial restore) never stalls the reminder and expiry sweeps:
its return still expires; an unreadable body's messages are recorded failed, unsent, with why,
an unreadable ``said`` only loses the explanation's translation; a warning names the decision,
never what it holds; and every other message of the sweep goes once."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, outbox
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping import conftest as shipping
from tests.integration.shipping.conftest import Returns, desk_round, notify_warnings

DAY = 86400
# what each corruption stores, and how the warning and the outbox say it cannot be read
CORRUPT = {
    "body not JSON": ("body", '{"outcome": "approve", "resolu',
                      "not valid JSON: Unterminated string starting at: line 1 column 24 "
                      "(char 23)"),
    "body of the wrong shape": ("body", '["approve", 2500]',
                                "JSON of the wrong shape: TypeError"),
    "said not JSON": ("said", '{"j": [{"m": "Appro', "not valid JSON: Unterminated string "
                      "starting at: line 1 column 14 (char 13)"),
    "said of the wrong shape": ("said", '{"$": ["twenty-five", "USD"]}',
                                "JSON of the wrong shape: ValueError"),
}


@pytest.fixture
def two_returns(returns_service: Callable[..., Returns], smtp: SmtpSink,
                erp: Receiver) -> tuple[Returns, dict[str, str]]:
    """Orders 1001 and 1002, one mug returned from each (its refund held until the first
    scan), their labels bought and sent: the decision ids by order."""
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    desk_round(r)
    assert _told(r, "label_ready") == {"1001": ("sent", None, True),
                                       "1002": ("sent", None, True)}
    return r, decided


def _told(r: Returns, kind: str) -> dict[str, tuple[str, str | None, bool]]:
    """Each ``kind`` message by order: its status, why it failed, and whether it carries the
    explanation's message ids."""
    found = {}
    for row in r.h.rows(outbox, kind=kind):
        context = json.loads(row.context)
        found[context["order_id"]] = (row.status, row.last_error, "explanation_said" in context)
    return found


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_the_reminder_and_expiry_sweeps_go_on_past_a_decision_that_cannot_be_read(
    two_returns: tuple[Returns, dict[str, str]], smtp: SmtpSink, erp: Receiver,
    caplog: pytest.LogCaptureFixture, corruption: str,
) -> None:
    r, decided = two_returns
    column, stored, why = CORRUPT[corruption]
    bad = decided["1002"]
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(decisions).where(decisions.c.id == bad).values({column: stored}))
    if column == "body":
        held = (f"not sent: decision {bad}'s stored body (decisions.body) cannot be read "
                f"({why}); a person must repair the row")
        warning = (f"the stored body (decisions.body) of decision {bad}, order 1002, cannot be "
                   f"read ({why}): its messages are recorded failed, unsent, until a person "
                   "repairs the row")
        told_1002: tuple[str, str | None, bool] = ("failed", held, False)
    else:
        warning = (f"decision {bad}'s stored explanation ids (decisions.said) cannot be read "
                   f"({why}): its mails carry the stored English explanation until a person "
                   "repairs the row")
        told_1002 = ("sent", None, False)
    before = len(smtp.received)
    caplog.clear()

    r.h.clock.advance(25 * DAY + 60)  # five days (less a minute) before the return-by date
    desk_round(r)

    assert _told(r, "return_reminder") == {"1001": ("sent", None, True), "1002": told_1002}
    reminded = sorted(m.subject for m in smtp.received[before:])
    expected = ["Reminder: please send back your return for order 1001 by "]
    if column == "said":
        expected.append("Reminder: please send back your return for order 1002 by ")
    assert [s[:len(e)] for s, e in zip(reminded, expected, strict=True)] == expected
    assert notify_warnings(caplog) == [warning]

    desk_round(r)  # the next round: nothing again, the unreadable one not tried again
    r.h.clock.advance(DAY)
    desk_round(r)
    assert len(smtp.received) == before + len(expected)
    assert notify_warnings(caplog) == [warning]

    r.h.clock.advance(12 * DAY)  # past the return-by date and its grace
    desk_round(r)

    assert shipping.where_they_stand(r) == shipping.BOTH_EXPIRED  # refunds canceled, labels voided
    assert _told(r, "return_expired") == {"1001": ("sent", None, True), "1002": told_1002}
    assert _told(r, "return.expired") == {"1001": ("sent", None, False),
                                          "1002": (told_1002[0], told_1002[1], False)}
    assert sorted(m.subject for m in smtp.received if "expired" in m.subject) == [
        f"Your return for order {order} has expired"
        for order in (("1001", "1002") if column == "said" else ("1001",))]
    assert sorted(p["data"]["order_id"] for _, p in erp.verified
                  if p["type"] == "return.expired") == (
        ["1001", "1002"] if column == "said" else ["1001"])
    assert notify_warnings(caplog) == [warning] * 2
    assert stored not in caplog.text
    assert {getattr(rec, "decision_id", None) for rec in caplog.records
            if rec.name == "refunds.notify"} == {bad}

    # a held message is not offered for resending, nor resent: its words were never written
    failed = r.h.rows(outbox, status="failed")
    assert len(failed) == (3 if column == "body" else 0)
    admin = create_token(r.h.runtime.engine, "Ada Admin", "admin", r.h.clock()).secret
    client = r.h.client()
    answers = [client.post(f"/api/outbox/{row.id}/resend",
                           headers={"Authorization": f"Bearer {admin}"}).status_code
               for row in failed]
    assert answers == [409] * len(failed)
    assert r.h.rows(outbox, status="queued") == []
    if failed:
        listed = client.get("/api/outbox?status=failed",
                            headers={"Authorization": f"Bearer {admin}"}).get_json()["data"]
        assert sorted((m["kind"], m["last_error"], m["note"]) for m in listed) == [
            (kind, held, "held: its cause cannot be read; not sent, not resent")
            for kind in ("return.expired", "return_expired", "return_reminder")]
        assert r.h.rows(outbox, status="failed") == failed  # untouched
