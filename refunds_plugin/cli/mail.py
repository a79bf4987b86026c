"""``refunds mail preview KIND --decision ID``: what that email would say, without sending it."""

from __future__ import annotations

import json

import click

from refunds_plugin.cli import options, startup
from refunds_plugin.errors import NotFound
from refunds_plugin.notify.kinds import MAIL_KINDS


class Refused(click.ClickException):
    """A preview that would show a false email: one line, exit 2 (the command was misused)."""

    exit_code = 2


@click.group()
def mail() -> None:
    """Customer emails: preview what one about a decision would say (nothing is sent)."""


@mail.command("preview", epilog="KIND: " + ", ".join(MAIL_KINDS) + ".")
@click.argument("kind", type=click.Choice(MAIL_KINDS), metavar="KIND")
@click.option("--decision", "decision_id", type=options.DECISION_ID, required=True,
              help="The decision it is about: its id, or the first 8 or more characters of it "
                   "as `refunds ledger list` shows them.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
@click.option("--json", "as_json", is_flag=True, help="Subject, text and HTML as JSON.")
def preview_cmd(kind: str, decision_id: str, as_html: bool, as_json: bool) -> None:
    """Render KIND about a recorded decision: its subject, recipient and text (or HTML).
    Nothing is enqueued or sent. KIND: one of the kinds listed below; approved, in_review and
    declined only as the decision stands, and refund_sent, credit_issued and refund_failed only
    for the money the decision moves (refused otherwise, naming the one that fits)."""
    from refunds_plugin.notify.preview import OUTCOME_KINDS, NotSent, preview

    runtime = startup.runtime("the policy is invalid", config=startup.config(),
                              with_executor=False, auto_migrate=False)
    try:
        assert runtime.renderer is not None
        try:
            shown = preview(runtime.engine, runtime.renderer, kind, decision_id,
                            runtime.service.clock())
        except NotFound as exc:  # found by --decision, but its body cannot be read
            raise click.ClickException(exc.message) from None
        except NotSent as exc:  # a money email this decision is never sent
            raise Refused(exc.message) from None
    finally:
        runtime.engine.dispose()
    if kind in OUTCOME_KINDS and kind != shown.fits:
        raise Refused(f"decision {decision_id} is {shown.state}: the {kind!r} email would be "
                      f"false; the one that fits is {shown.fits!r} (refunds mail preview "
                      f"{shown.fits} --decision {decision_id})")
    r = shown.rendered
    if as_json:
        click.echo(json.dumps({"kind": kind, "to": shown.recipient, "subject": r.subject,
                               "text": r.text, "html": r.html, "example": shown.example,
                               "dry_run": shown.dry_run},
                              indent=2))
        return
    click.echo(f"To: {shown.recipient or '(no customer email: nothing would be sent)'}")
    click.echo(f"Subject: {r.subject}")
    if shown.example:
        click.echo("(dates, codes or the statement are examples: that cause is not recorded)")
    if shown.dry_run:
        click.echo("(dry run: no money was sent, so this email is never sent to the customer)")
    click.echo("")
    click.echo(r.html if as_html else r.text, nl=False)
