"""``refunds trouble scan|follow-ups``: look for trouble across the ledger's history, and list
what a person should chase.

``scan`` runs the detectors over every order with a payment or an update since ``--since`` (a
shop that installed us late); ``--apply`` decides what it found under the policy, through the
same path as a live event, so a second ``--apply`` adds nothing. It also reads the failed
payments in the events inbox and, with ``--apply``, opens the follow-ups the live path would
have opened (one per order, by the unique ``(kind, order_id)``). ``follow-ups`` lists the
follow-ups of every kind (``trouble.follow_ups.KINDS``), as ``/finance/follow-ups`` and ``GET
/api/follow-ups`` do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import Connection, select, union

from refunds_plugin.cli import options, startup, tables
from refunds_plugin.language.catalogue import english
from refunds_plugin.ledger.db import read_tx, write_tx
from refunds_plugin.ledger.tables import orders, payments
from refunds_plugin.trouble import missed_payments
from refunds_plugin.trouble.follow_ups import KINDS, STATUSES, FollowUp, find, open_items


def _runtime() -> Any:
    # a database without the tables is named, never migrated: a mistyped URL said "no trouble"
    return startup.runtime("the policy is invalid", config=startup.config(), with_executor=False,
                           auto_migrate=False)


def order_ids(conn: Connection, since: datetime | None) -> list[str]:
    """Orders with a payment, or an order update, at or after ``since`` (all when None)."""
    paid = select(payments.c.order_id.label("order_id")).where(payments.c.order_id.is_not(None))
    known = select(orders.c.order_id.label("order_id"))
    if since is not None:
        paid = paid.where(payments.c.created_at >= since)
        known = known.where(orders.c.updated_at >= since)
    both = union(paid, known).subquery()
    found = conn.execute(select(both.c.order_id).order_by(both.c.order_id)).scalars()
    return [str(r) for r in found]


def sweep(runtime: Any, since: datetime | None, apply: bool) -> list[dict[str, Any]]:
    """Findings across the history; with ``apply``, each one decided (one transaction per order)."""
    from refunds_plugin.trouble.corrections import correct
    from refunds_plugin.trouble.detectors import plan

    service = runtime.service
    with read_tx(runtime.engine) as conn:
        ids = order_ids(conn, since)
        failed = missed_payments.missed(conn, service.policy, since)
    rows: list[dict[str, Any]] = []
    for order_id in ids:
        if not apply:
            with read_tx(runtime.engine) as conn:
                found = plan(conn, service.policy, order_id)
            rows += [{**f.to_json(), "status": "found"} for f in found]
            continue
        with write_tx(runtime.engine) as conn:
            done = correct(conn, service.policy, service.route, order_id, service.clock(),
                           "trouble scan")
        for c in done:
            status = f"decided: {c.outcome}" if c.created else f"decided before: {c.outcome}"
            rows.append(
                {**c.finding.to_json(), "status": status, "decision_id": c.decision_id,
                 "attempts": len(c.attempt_ids)}
            )
    for item in failed:
        status = "found"
        if apply:
            with write_tx(runtime.engine) as conn:
                status = missed_payments.reopen(conn, service.policy, item)
        rows.append({**item.to_json(), "status": status})
    return rows


@click.group()
def trouble() -> None:
    """Look for trouble: overpayments, duplicate charges, failed payments; list follow-ups."""


@trouble.command()
@click.option(
    "--since", type=options.WHEN, default=None,
    help="ISO date or datetime: only orders active, and failed payments received, since.",
)
@click.option("--apply", is_flag=True, help="Decide what is found (idempotent).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def scan(since: datetime | None, apply: bool, as_json: bool) -> None:
    """Run the detectors over the ledger's history and show (or, with --apply, decide) findings."""
    options.period(since, None)
    runtime = _runtime()
    try:
        rows = sweep(runtime, since, apply)
        with read_tx(runtime.engine) as conn:
            due = len(open_items(conn, runtime.policy, runtime.service.clock()))
    finally:
        runtime.engine.dispose()
    if as_json:
        doc = {"applied": apply, "findings": rows, "follow_ups_due": due}
        click.echo(json.dumps(doc, sort_keys=True))
        return
    if not rows:
        click.echo("no trouble found")
    else:
        tables.echo_table(
            ["order", "kind", "payment", "amount", "status", "why"],
            [
                [r["order_id"], r["kind"], r["payment_reference"],
                 english(r["amount"], r["currency"]), r["status"], r["detail"]]
                for r in rows
            ],
        )
    opened = sum(1 for r in rows if r["status"] == "follow-up opened")
    if opened:
        click.echo(f"{opened} follow-up(s) opened for failed payments nothing has paid since")
    pending = sum(int(r.get("attempts", 0)) for r in rows)
    if apply and pending:
        click.echo(f"{pending} refund(s) pending: `refunds serve` or `refunds worker` sends them")
    if rows and not apply:
        click.echo(f"{len(rows)} finding(s); run with --apply to decide them under the policy")
    if due:
        click.echo(f"{due} failed payment(s) to follow up: `refunds trouble follow-ups`")


@trouble.command("follow-ups")
@click.option("--status", type=click.Choice(STATUSES), default="open", show_default=True,
              help="Open ones, cleared ones, or both.")
@click.option("--kind", "kinds", type=click.Choice(KINDS), multiple=True,
              help="Only this kind (repeatable); every kind without it.")
@click.option("--all", "waiting", is_flag=True,
              help="Also list open failed payments still inside the policy's wait "
                   "(trouble.failed_payment.follow_up_after_hours).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per follow-up, as GET /api/follow-ups gives it.")
def follow_ups_cmd(status: str, kinds: tuple[str, ...], waiting: bool, as_json: bool) -> None:
    """What a person should chase, oldest first: failed payments nothing has paid since,
    payments another order holds, refused return labels, instant exchanges' originals owed,
    exchanges nobody was told to ship, returns Saleor was never told of. The same listing as
    /finance/follow-ups and GET /api/follow-ups, except that open failed payments still inside
    the policy's wait are left out unless --all is given."""
    runtime = _runtime()
    try:
        now = runtime.service.clock()
        with read_tx(runtime.engine) as conn:
            items = find(conn, runtime.policy, now, status=status, waiting=waiting,
                         kinds=kinds or KINDS)
    finally:
        runtime.engine.dispose()
    if as_json:
        for item in items:
            age = int((now - item.opened_at).total_seconds())
            click.echo(json.dumps({**item.to_json(), "age_seconds": age}, sort_keys=True))
        return
    if not items:
        click.echo("nothing to follow up")
        return
    tables.echo_table(
        ["opened", "status", "kind", "order", "decision", "customer", "amount", "payment",
         "what failed"],
        [
            [_minute(i.opened_at), _status(i, now), i.kind, i.order_id, i.subject or "-",
             i.customer or "-", str(i.amount) if i.amount else "-",
             i.payment_reference or "-", i.detail]
            for i in items
        ],
    )


def _minute(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status(item: FollowUp, now: datetime) -> str:
    """As ``/finance/follow-ups`` says it: due, waiting until …, or cleared …."""
    if item.status == "cleared":
        return f"cleared {_minute(item.cleared_at)}" if item.cleared_at else "cleared"
    return "due" if item.due_at <= now else f"waiting until {_minute(item.due_at)}"
