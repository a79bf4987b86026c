"""Revision 0036 makes "the merchant's endpoint answered 410 Gone" a status of the refused
event's row (``gone``), where it was words in its note that the code searched for: a row left in
the old form (``failed``, that note) is ``gone`` after it, and its note cleared; any other row is
left as it was. Down again, the old form comes back. On SQLite and PostgreSQL."""

from __future__ import annotations

from tests.fakes.old_ledger import T0, OldLedger

OLD_NOTE = "endpoint gone: no more events are sent until this one is sent again"


def _message(ledger: OldLedger, row_id: str, channel: str, status: str, note: str | None) -> None:
    ledger.put(
        "outbox",
        id=row_id,
        cause=f"decision:{row_id}",
        kind="return.decided",
        channel=channel,
        recipient="merchant" if channel == "event" else "a@b.example",
        context="{}",
        status=status,
        tries=1,
        next_try_at=T0,
        last_error="https://erp.example/hook answered 410 Gone",
        note=note,
        created_at=T0,
        updated_at=T0,
    )


def test_0036_moves_the_gone_note_into_the_status_and_back(old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0035")
    _message(old_ledger, "m-gone", "event", "failed", OLD_NOTE)
    _message(old_ledger, "m-failed", "event", "failed", "resend asked by Ada")
    _message(old_ledger, "m-plain", "event", "failed", None)
    _message(old_ledger, "m-waiting", "event", "queued", None)
    _message(old_ledger, "m-mail", "mail", "failed", OLD_NOTE)  # no endpoint: not a mail's

    old_ledger.upgrade("0036")

    assert old_ledger.rows("outbox", "id", "status", "note", "updated_at") == [
        ("m-failed", "failed", "resend asked by Ada", T0),
        ("m-gone", "gone", None, T0),  # since when it stands: kept
        ("m-mail", "failed", OLD_NOTE, T0),
        ("m-plain", "failed", None, T0),
        ("m-waiting", "queued", None, T0),
    ]

    old_ledger.downgrade("0035")

    assert old_ledger.rows("outbox", "id", "status", "note") == [
        ("m-failed", "failed", "resend asked by Ada"),
        ("m-gone", "failed", OLD_NOTE),
        ("m-mail", "failed", OLD_NOTE),
        ("m-plain", "failed", None),
        ("m-waiting", "queued", None),
    ]
