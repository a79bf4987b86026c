"""``refunds outbox list|resend``: the customer emails and merchant events the finance outbox
page shows, and sending failed ones again, as its Resend button and
``POST /api/outbox/<id>/resend`` do (the same guarded re-queue: ``notify.outbox.resend``).

A resend only queues: the courier (``refunds serve``'s executor or ``refunds worker``) sends
the message under its claim, so a message is never sent twice at once, and two resends of one
message queue it once (the second finds it no longer failed). The event a merchant's endpoint
answered 410 Gone to (status ``gone``) is sent again the same way, which re-enables the
endpoint.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

import click

from refunds_plugin.cli import startup
from refunds_plugin.cli.tables import echo_table
from refunds_plugin.notify.kinds import KINDS
from refunds_plugin.notify.outbox import FAILED, STATUSES


@click.group()
def outbox() -> None:
    """Customer emails and merchant events: list them, send failed ones again."""


def _gone_line(gone: dict[str, object]) -> str:
    waiting = int(str(gone["waiting"]))
    return (
        f"events paused: REFUNDS_OUTBOUND_URL answered 410 Gone at {gone['since']}; "
        f"{waiting} {'event waits' if waiting == 1 else 'events wait'}; send message {gone['id']} "
        f"again to re-enable it (refunds outbox resend {gone['id']})"
    )


@outbox.command("list")
@click.option(
    "--failed", is_flag=True, help="Only failed messages (`resend` takes these, and a gone one)."
)
@click.option("--status", type=click.Choice(STATUSES), help="Only messages in this status.")
@click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    metavar="KIND",
    help="Only messages of this kind (refund_sent, return.decided, …).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 200),
    default=50,
    show_default=True,
    help="How many of the newest to show.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
def list_cmd(failed: bool, status: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """The newest messages first, with why each failed or was skipped; a line first when the
    merchant's endpoint answered 410 Gone and events wait."""
    from refunds_plugin.finance import outbox as outbox_read

    if failed and status not in (None, FAILED):
        raise click.UsageError(f"--failed and --status {status} ask for different messages")
    filters = {"status": FAILED if failed else status or "", "kind": kind or ""}
    with startup.engine() as engine:
        found = outbox_read.find_outbox(engine, filters, 1, limit)
        gone = outbox_read.gone(engine)
    if as_json:
        for row in found.rows:
            click.echo(json.dumps(row, sort_keys=True))
        return
    if gone:
        click.echo(_gone_line(gone))
    if not found.rows:
        click.echo("no messages" + (" failed" if failed else ""))
        return
    echo_table(
        ["ID", "CREATED", "KIND", "TO", "STATUS", "TRIES", "WHY"],
        [
            [
                r["id"],
                r["created_at"],
                r["kind"],
                r["recipient"] if r["channel"] == "mail" else "your systems",
                r["status"],
                r["tries"],
                "; ".join(x for x in (r["last_error"], r["note"]) if x),
            ]
            for r in found.rows
        ],
    )


@outbox.command("resend")
@click.argument("ids", nargs=-1, metavar="ID...")
@click.option("--all-failed", is_flag=True, help="Every failed or gone message that can be resent.")
@click.option(
    "--by",
    default=None,
    help="Who asks, kept in each message's note (default: the user running the command).",
)
def resend_cmd(ids: tuple[str, ...], all_failed: bool, by: str | None) -> None:
    """Queue failed messages again, under their own ids (a failed message never arrived, so
    its Message-ID or webhook-id is unused): the courier sends each once. Sending the gone one
    again (the event the merchant's endpoint answered 410 Gone to) resumes every event. An id
    that is no message is a usage error (exit 2); one that is not failed or gone, or held
    because its cause cannot be read, is refused (exit 1). Either way nothing is queued."""
    from refunds_plugin.finance import outbox as outbox_read
    from refunds_plugin.notify.outbox import resend_message

    if bool(ids) == all_failed:
        raise click.UsageError("give the ids of the messages to send again, or --all-failed")
    who = f"{by or getpass.getuser()} (refunds outbox resend)"
    with startup.engine() as engine:
        found = outbox_read.resendable(engine, list(ids) if ids else None)
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise click.UsageError(
                f"no outbox message {', '.join(repr(i) for i in unknown)} (see `refunds outbox "
                "list --failed`); nothing was queued"
            )
        refused = [f"{i} is {why}" for i, (_, why) in found.items() if why]
        if refused:
            raise click.ClickException(
                f"only a failed message can be sent again: {'; '.join(refused)}; nothing was queued"
            )
        now = datetime.now(UTC)
        queued = [i for i in found if resend_message(engine, i, who, now)]
    for i in found:  # a concurrent resend or the courier may have taken one in between
        click.echo(
            f"queued again: {i} ({found[i][0]})"
            if i in queued
            else f"not queued: {i} is no longer failed (queued or sent meanwhile)"
        )
    if not found:
        click.echo("no failed message to send again")
    if len(queued) != len(found):
        raise SystemExit(1)
