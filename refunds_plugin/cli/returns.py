"""``refunds returns list|receive|expire``: the physical returns — where each parcel is, the
packing table's receipt from the command line, and the deadline sweep (what it would expire,
then, with ``--apply``, expiring it: held money canceled, labels voided)."""

from __future__ import annotations

import json
from typing import Any

import click

from refunds_plugin.cli import startup, tables
from refunds_plugin.shipping.listing import STATUSES
from refunds_plugin.shipping.receiving import CONDITIONS


def _runtime() -> Any:
    # a database without the tables is named, never migrated: a mistyped URL said "nothing to
    # expire"
    return startup.runtime("the policy is invalid", config=startup.config(), with_executor=False,
                           auto_migrate=False)


@click.group()
def returns() -> None:
    """Physical returns: list, receive, expire."""


def _money(minor: int | None, currency: str | None) -> str:
    from refunds_plugin.language.catalogue import english

    return english(minor, currency) if minor is not None and currency else "-"


def _echo(rows: list[dict[str, Any]], as_json: bool, empty: str) -> None:
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, sort_keys=True))
        return
    if not rows:
        click.echo(empty)
        return
    tables.echo_table(
        ["decision", "order", "status", "label", "tracking", "return by", "label cost"],
        [[r["decision_id"][:8], r["order_number"] or r["order_id"], r["status"],
          r["label_status"], r["tracking_code"] or "-", (r["return_by"] or "-")[:10],
          _money(r["label_cost"], r["label_currency"])] for r in rows])
    for r in rows:  # in words below the table, which has no room for them
        if r["unreadable"]:
            click.echo(f"return of decision {r['decision_id']}, order {r['order_id']}: "
                       f"{r['unreadable']}")


@returns.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only returns in this state.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1),
              help="How many returns, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per return.")
def list_cmd(status: str | None, limit: int, as_json: bool) -> None:
    """The newest returns: their state, label and deadline."""
    from refunds_plugin.shipping import listing

    with startup.engine() as engine:
        rows = listing.listed(engine, status, limit)
    empty = "no returns" + (f" {status}" if status else "")
    if not startup.config().return_addresses:
        empty = listing.NO_ADDRESS
    _echo(rows, as_json, empty)


def _line(spec: str) -> tuple[str, tuple[str, int | None, bool]]:
    """``LINE=CONDITION[:UNITS][:restock]`` → (line, (condition, units, restock))."""
    line, sep, rest = spec.partition("=")
    parts = rest.split(":") if sep else []
    if not line or not parts or parts[0] not in CONDITIONS:
        raise click.BadParameter(f"{spec!r}: expected LINE=CONDITION[:UNITS][:restock], the "
                                 f"condition one of {', '.join(CONDITIONS)}")
    units: int | None = None
    restock = False
    for part in parts[1:]:
        if part.isdigit():
            units = int(part)
        elif part == "restock":
            restock = True
        else:
            raise click.BadParameter(f"{spec!r}: {part!r} is neither a number of units nor "
                                     "'restock'")
    return line, (parts[0], units, restock)


@returns.command("receive")
@click.argument("order")
@click.argument("lines", nargs=-1, required=True)
@click.option("--by", default="cli", show_default=True, help="Who received it (journalled).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def receive_cmd(order: str, lines: tuple[str, ...], by: str, as_json: bool) -> None:
    """Mark ORDER's return received, each line as LINE=CONDITION[:UNITS][:restock].

    ORDER is the order's id, its number or the return's tracking code (the tracking code picks
    one return when the order has several). CONDITION is as_new, opened, damaged, wrong_item or
    missing; UNITS defaults to every unit asked for; restock puts them back in stock.

    \b
    For example:
    refunds returns receive 1001 l1=as_new:2:restock l2=missing
    """
    from refunds_plugin.errors import RefundsError
    from refunds_plugin.shipping import listing

    parsed = dict(_line(spec) for spec in lines)
    runtime = _runtime()
    try:
        found = [r for r in listing.find(runtime.engine, order) if not r["received"]]
        if not found:
            raise click.ClickException(f"no return of {order} is waiting to be received")
        if len(found) > 1:
            raise click.ClickException(
                f"{order} has {len(found)} returns waiting; name one by its tracking code")
        # one whose stored record cannot be read goes on to be refused by name, never guessed at
        try:
            receipt = runtime.service.receive(found[0]["decision_id"], parsed, by)
        except RefundsError as exc:
            raise click.ClickException(exc.message) from None
    finally:
        runtime.engine.dispose()
    if as_json:
        click.echo(json.dumps(receipt.to_json(), sort_keys=True))
        return
    if receipt.duplicate:
        click.echo("already received; nothing changed")
    elif receipt.matched:
        click.echo(f"received; matches the claim: {len(receipt.released)} attempt(s) released")
    else:
        click.echo("received with differences, sent to review: " + "; ".join(receipt.mismatches))
    for r in receipt.restock:
        click.echo(f"restock {r['quantity']} × {r['line_id']}: {r['status']}")


@returns.command("expire")
@click.option("--apply", is_flag=True, help="Expire them (cancel held money, void labels).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def expire_cmd(apply: bool, as_json: bool) -> None:
    """Returns not scanned by their return-by date plus grace; --apply expires them."""
    from refunds_plugin.shipping import listing

    runtime = _runtime()
    desk = runtime.shipping_desk
    try:
        due = desk.expire_due(apply=apply)
        voided = desk.void_due() if apply else 0
        with runtime.engine.connect() as conn:
            rows = listing.describe(conn, due)
    finally:
        runtime.engine.dispose()
    _echo(rows, as_json, "nothing to expire")
    if not as_json and rows:
        click.echo(f"expired {len(rows)}; {voided} label(s) voided" if apply else
                   f"{len(rows)} would expire (run again with --apply)")
