"""``refunds outbox list|resend``: what the finance outbox page and ``POST
/api/outbox/<id>/resend`` do, from the command line, on a real ledger. A resend queues the
message again through the same guarded path (failed → queued, under its own id), and the
courier sends it once; an id that is no message is a usage error and queues nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner, Result

from refunds_plugin.cli import main
from refunds_plugin.ledger.tables import outbox
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.stripe_api import FakeStripe


def _events(h: Harness) -> list[Any]:
    return sorted((r for r in h.rows(outbox) if r.channel == "event"), key=lambda r: r.seq)


def _shop(mail_shop_with: Callable[..., Harness], fake: FakeStripe, **settings: Any) -> Harness:
    h = mail_shop_with(mail_url="", outbound_url=HOOK, outbound_secret=SECRET, **settings)
    fake.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    assert h.post_storefront(return_requested()).status_code == 201
    h.drain()
    return h


def _cli(h: Harness, *args: str) -> Result:
    return CliRunner().invoke(main, ["outbox", *args], env={"REFUNDS_DATABASE_URL": h.db_url})


def _to_the_resend(clock: Clock) -> None:
    """The command queues at the wall clock's now; the shop's clock stands in 2026."""
    clock.advance(max(0.0, (datetime.now(UTC) - clock.now).total_seconds()) + 60)


def test_failed_messages_are_listed_and_resent_once_each(
    mail_shop_with: Callable[..., Harness],
    fake_stripe: FakeStripe,
    erp: Callable[..., Receiver],
    clock: Clock,
) -> None:
    receiver = erp(down=True)
    h = _shop(mail_shop_with, fake_stripe, outbox_max_tries=1)
    decided, succeeded = _events(h)
    assert [(r.kind, r.status) for r in (decided, succeeded)] == [
        ("return.decided", "failed"),
        ("refund.succeeded", "failed"),
    ]

    listed = _cli(h, "list", "--failed")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "KIND", "TO", "STATUS", "TRIES", "WHY"]
    assert [ln.split()[0] for ln in lines[1:]] == [succeeded.id, decided.id]  # newest first
    assert all(" failed " in ln and "gave up after 1 tries" in ln for ln in lines[1:])

    # an unknown id, or no id at all: a usage error, nothing queued
    unknown = _cli(h, "resend", decided.id, "no-such-id")
    assert (unknown.exit_code, unknown.output.splitlines()[-1]) == (
        2,
        "Error: no outbox message 'no-such-id' (see `refunds outbox list --failed`); "
        "nothing was queued",
    )
    nothing = _cli(h, "resend")
    assert nothing.exit_code == 2
    assert "give the ids of the messages to send again, or --all-failed" in nothing.output
    assert [r.status for r in _events(h)] == ["failed", "failed"]

    resent = _cli(h, "resend", "--all-failed", "--by", "Ada")
    assert (resent.exit_code, resent.output) == (
        0,
        (
            f"queued again: {decided.id} (return.decided)\n"
            f"queued again: {succeeded.id} (refund.succeeded)\n"
        ),
    )
    assert [(r.status, r.tries, r.note) for r in _events(h)] == [
        ("queued", 0, "resend asked by Ada (refunds outbox resend)")
    ] * 2

    # asked again before the courier sent it: refused, not queued twice
    again = _cli(h, "resend", decided.id)
    assert (again.exit_code, again.output) == (
        1,
        (
            f"Error: only a failed message can be sent again: {decided.id} is queued, not failed; "
            "nothing was queued\n"
        ),
    )

    receiver.down = False
    _to_the_resend(clock)
    h.drain()
    assert sorted(i for i, _ in receiver.verified) == sorted([decided.id, succeeded.id])
    assert [r.status for r in _events(h)] == ["sent", "sent"]
    assert _cli(h, "list", "--failed").output == "no messages failed\n"


def test_a_gone_endpoint_is_said_first_and_resending_its_message_re_enables_it(
    mail_shop_with: Callable[..., Harness],
    fake_stripe: FakeStripe,
    erp: Callable[..., Receiver],
    clock: Clock,
) -> None:
    receiver = erp(gone=True)
    h = _shop(mail_shop_with, fake_stripe)
    gone, waiting = _events(h)

    listed = _cli(h, "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0] == (
        f"events paused: REFUNDS_OUTBOUND_URL answered 410 Gone at "
        f"{clock.now.isoformat()}; 1 event waits; send message {gone.id} "
        f"again to re-enable it (refunds outbox resend {gone.id})"
    )
    # its row says so in STATUS; the waiting one is queued, untried
    rows = {ln.split()[0]: ln.split() for ln in listed.output.splitlines()[2:]}
    assert rows[gone.id][3:7] == ["your", "systems", "gone", "1"]
    assert rows[waiting.id][3:7] == ["your", "systems", "queued", "0"]
    only = _cli(h, "list", "--status", "gone").output.splitlines()
    assert [ln.split()[0] for ln in only[2:]] == [gone.id]
    assert _cli(h, "resend", waiting.id).exit_code == 1  # queued, waiting: not failed

    receiver.gone = False
    resent = _cli(h, "resend", gone.id, "--by", "Ada")
    assert (resent.exit_code, resent.output) == (0, f"queued again: {gone.id} (return.decided)\n")
    assert [(r.status, r.tries, r.note) for r in _events(h)] == [
        ("queued", 0, "resend asked by Ada (refunds outbox resend)"),
        ("queued", 0, None),
    ]
    assert not _cli(h, "list").output.startswith("events paused")  # cleared at once
    again = _cli(h, "resend", gone.id)  # before the courier sent it: refused, queued once
    assert again.exit_code == 1
    _to_the_resend(clock)
    h.drain()
    h.drain()
    assert sorted(i for i, _ in receiver.verified) == sorted([gone.id, waiting.id])
    # the 410'd one twice (the 410, then once more), the waiting one once
    assert sorted(i for i, _ in receiver.deliveries) == sorted([gone.id, gone.id, waiting.id])
    assert [r.status for r in _events(h)] == ["sent", "sent"]


def test_outbox_has_help() -> None:
    for args in (
        ["outbox", "--help"],
        ["outbox", "list", "--help"],
        ["outbox", "resend", "--help"],
    ):
        said = CliRunner().invoke(main, args)
        assert said.exit_code == 0, said.output
    assert "--all-failed" in CliRunner().invoke(main, ["outbox", "resend", "--help"]).output
