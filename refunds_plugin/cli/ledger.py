"""``refunds ledger list|export|head|verify|seal|report``: read the ledger, check its chain,
seal what waits, total it."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

import click

from refunds_plugin.cli import options, startup, tables
from refunds_plugin.language.catalogue import english


@click.group()
def ledger() -> None:
    """Read the ledger: list, export, verify, head, seal, report."""


@ledger.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many decisions, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision.")
def ledger_list(limit: int, as_json: bool) -> None:
    """The newest decisions with their money movements."""
    from refunds_plugin.finance.reports import recent_decisions
    from refunds_plugin.finance.rows import plain
    from refunds_plugin.shipping.listing import instructions_by_decision

    with startup.engine() as engine:
        rows = recent_decisions(engine, limit)
        with engine.connect() as conn:
            shipped = instructions_by_decision(conn, [r["id"] for r in rows])
    if as_json:
        for row in rows:  # a decision whose items come back says where, by when, the label
            extra = {"return_instructions": shipped[row["id"]]} if row["id"] in shipped else {}
            click.echo(json.dumps(plain(row) | extra, default=str, sort_keys=True))
        return
    if not rows:
        click.echo("no decisions yet")
        return
    headers = ["created (UTC)", "decision", "order", "outcome", "review", "resolution", "granted",
               "money", "reason"]
    table = [
        [
            str(r["created_at"])[:16],
            r["id"][:8],
            r["order_id"],
            r["outcome"],
            _review(r),
            r["resolution"],
            _granted(r),
            r["money_status"],
            r["reason_code"],
        ]
        for r in rows
    ]
    tables.echo_table(headers, table, trim=False)  # this one always padded its last column


def _granted(row: dict[str, Any]) -> str:
    """What the decision gives: ``65.05 USD``, ``99.00 EUR + 9.90 EUR bonus``, or for a review a
    person declined (also one re-opened after the policy approved) ``0.000 KWD (declined; the
    policy said 118.500 KWD)`` (one still open: what the policy proposes; its review column
    says ``open``)."""
    from refunds_plugin.finance.rows import not_granted

    cur = row["currency"]
    if why := not_granted(row):
        said = english(row["amount"] + row["credit_bonus"], cur)
        return f"{english(0, cur)} ({why}; the policy said {said})"
    bonus = row["credit_bonus"]
    return english(row["amount"], cur) + (f" + {english(bonus, cur)} bonus" if bonus else "")


def _review(row: dict[str, Any]) -> str:
    """``approved by Ada at 2026-12-04 19:15``, ``open``, or ``-`` when never reviewed."""
    status = row["review_status"]
    if status in ("", "open"):
        return status or "-"
    at = str(row["review_decided_at"] or "")[:16]
    return f"{status} by {row['review_decided_by']}" + (f" at {at}" if at else "")


@ledger.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
    help="CSV with a header row, or one JSON object per line."
)
@click.option("--since", type=options.WHEN, default=None,
              help="ISO date or datetime, inclusive (default: from the first decision).")
@click.option("--until", type=options.WHEN, default=None,
              help="ISO date or datetime, exclusive (default: up to the last decision).")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default stdout).")
def ledger_export(fmt: str, since: datetime | None, until: datetime | None, output: Any) -> None:
    """Stream every decision (with its attempts' state) as CSV or JSON lines."""
    url = startup.config().database_url
    options.period(since, until)
    count = export_with_progress(url, output, fmt, since, until)
    output.flush()  # a full disk is said before "exported", not after it
    click.echo(f"exported {count} decision(s)", err=True)


def export_with_progress(
    db_url: str, output: Any, fmt: str, since: datetime | None, until: datetime | None
) -> int:
    """``ledger export``: stream the rows; a progress bar on stderr only when it is a terminal."""
    from refunds_plugin.finance.reports import count_decisions, export_decisions

    with startup.engine(db_url) as engine:
        if not sys.stderr.isatty():
            return export_decisions(engine, output, fmt, since, until)
        total = count_decisions(engine, since, until)
        with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
            return export_decisions(engine, output, fmt, since, until, progress=bar.update)


class AnchorParam(click.ParamType):
    """``SEQ:HASH`` as ``refunds ledger head`` prints it, to ``(seq, lower-case hash)``."""

    name = "SEQ:HASH"
    _shape = re.compile(r"([1-9][0-9]*):([0-9a-fA-F]{64})")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> tuple[int, str]:
        if isinstance(value, tuple):
            return value
        found = self._shape.fullmatch(str(value).strip())
        if found is None:
            self.fail(f"{value!r} is not SEQ:HASH (an entry number, a colon and that entry's "
                      "64 hex digit hash, as `refunds ledger head` prints it)", param, ctx)
        return int(found.group(1)), found.group(2).lower()


@ledger.command("head")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def ledger_head(as_json: bool) -> None:
    """The chain's newest entry: seq, hash, when it was written, how many entries there are.

    Keep its SEQ:HASH (the `anchor` line) where the database's writers cannot change it, on a
    schedule: the month-end email, a ticket, a git commit. `refunds ledger verify --anchor
    SEQ:HASH` later fails if anything up to that entry was rewritten, even with every later
    hash recomputed.
    """
    from refunds_plugin.finance.verify import chain_head, unsealed_entries
    from refunds_plugin.ledger.seal import settle

    with startup.engine() as engine:
        settle(engine)  # what is committed now is sealed first, so the anchor covers it
        head = chain_head(engine)
        waiting = unsealed_entries(engine) if head is not None and not as_json else 0
    if as_json:
        empty = {"seq": None, "hash": None, "created_at": None, "entries": 0, "anchor": None}
        click.echo(json.dumps(head.to_json() if head else empty, sort_keys=True))
    elif head is None:
        click.echo("the ledger has no entries yet: nothing to anchor")
    else:
        for name, value in head.to_json().items():
            click.echo(f"{name:<10}  {value}")
        if waiting:  # written by a writer still in flight, or another process sealing: later
            click.echo(f"{waiting} entr{'y' if waiting == 1 else 'ies'} written after it not "
                       "sealed yet (`refunds ledger seal` seals them)")


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True,
              help="Problems as JSON lines; when all holds, one object: ok, entries_checked, "
                   "unsealed, anchors_held, payments_checked, payments_before_journal, "
                   "orders_checked, orders_before_journal.")
@click.option("--anchor", "anchors", type=AnchorParam(), multiple=True,
              help="SEQ:HASH from an earlier `refunds ledger head`, kept outside the database: "
                   "fail unless entry SEQ still has that hash. Repeatable.")
def ledger_verify(as_json: bool, anchors: tuple[tuple[int, str], ...]) -> None:
    """Walk the hash chain and check every decision, attempt, review, payment and order row
    against it (a payment's captured amount, an order's total).

    Exits 1 and names the first altered entry or row when anything does not hold. The chain
    alone cannot see a rewrite that recomputed every later hash; --anchor can, for every entry
    up to the anchored one.
    """
    from refunds_plugin.finance.verify import unsealed_entries, verify_ledger

    with startup.engine() as engine:
        problems = verify_ledger(engine, anchors=anchors)
        waiting = unsealed_entries(engine)
        sqlite = engine.dialect.name == "sqlite"
    paid = problems.paid
    erased = any(p.problem == "seal_erased" for p in problems)  # not waiting: tampered with
    if waiting and not as_json and not erased:
        click.echo(f"{waiting} entr{'y' if waiting == 1 else 'ies'} not sealed into the chain yet "
                   "(checked against their rows; `refunds ledger seal` seals them now)")
    if as_json:
        for p in problems:
            click.echo(json.dumps({"where": p.where, "problem": p.problem, "detail": p.detail}))
    if not problems:
        if as_json:
            click.echo(json.dumps({
                "ok": True, "entries_checked": problems.entries, "unsealed": waiting,
                "anchors_held": len(set(anchors)),
                "payments_checked": paid.payments - paid.payments_before,
                "payments_before_journal": paid.payments_before,
                "orders_checked": paid.orders - paid.orders_before,
                "orders_before_journal": paid.orders_before}, sort_keys=True))
        else:
            click.echo(_verified(problems.entries, len(set(anchors)), sqlite))
            if paid.payments or paid.orders:
                click.echo(_paid(paid))
        return
    if not as_json:
        click.echo(f"LEDGER ALTERED: first problem at {problems[0]}", err=True)
        for p in problems[1:]:
            click.echo(f"  also: {p}", err=True)
    sys.exit(1)


def _paid(paid: Any) -> str:
    """How many payments' captured amounts and orders' totals were held up to their entries,
    and how many were recorded before those were journalled (not checked)."""
    def some(n: int, one: str) -> str:
        return f"{n} {one}" if n == 1 else f"{n} {one}s"

    return (f"what was paid: {some(paid.payments - paid.payments_before, 'payment')} and "
            f"{some(paid.orders - paid.orders_before, 'order')} checked against their entries; "
            f"{some(paid.payments_before, 'payment')} and {some(paid.orders_before, 'order')} "
            "recorded before captured amounts and totals were journalled (not checked)")


def _verified(entries: int, anchors: int, sqlite: bool) -> str:
    """What a verify that found nothing wrong says: how much it checked, or that it had
    nothing to check (an empty database, or, on SQLite only, a copy made without its -wal
    file)."""
    held = f"; {anchors} anchor(s) hold" if anchors else ""
    if not entries:
        hint = (" (a SQLite copy made without its -wal file looks empty: copy that file with it)"
                if sqlite else "")
        return f"ledger verified: nothing to check, the ledger has no entries{hint}{held}"
    return (f"ledger verified: {entries} entr{'y' if entries == 1 else 'ies'}, the chain holds "
            f"and every row matches its entries{held}")


@ledger.command("seal")
def ledger_seal() -> None:
    """Seal every committed journal entry that waits into the hash chain, now.

    On PostgreSQL each process's background sealer seals its writers' entries shortly after
    their commit; this is for the ones a crashed process left behind. On SQLite every entry
    is sealed as it is written.
    """
    from refunds_plugin.ledger.seal import seal_round

    with startup.engine() as engine:
        if engine.dialect.name == "sqlite":
            click.echo("sealed 0 entries: SQLite seals each entry as it is written")
            return
        lap = seal_round(engine)
    if lap.busy:
        click.echo(f"another process is sealing; the chain is sealed through entry {lap.through}")
        return
    click.echo(f"sealed {lap.sealed} entr{'y' if lap.sealed == 1 else 'ies'}; the chain is "
               f"sealed through entry {lap.through}")


def _period(since: datetime | None, until: datetime | None, days: int
            ) -> tuple[datetime, datetime]:
    """As the summary page: no ``--until`` is now, to the end of the current second (what was
    recorded a moment ago is counted)."""
    from refunds_plugin.errors import InputError
    from refunds_plugin.insights.period import period

    try:
        found = period(since, until, datetime.now(UTC), days)
    except InputError as exc:  # a --since after now
        raise click.UsageError(exc.message) from None
    return found.since, found.until


@ledger.command("report")
@click.option("--since", type=options.WHEN, default=None,
              help="ISO date or datetime, inclusive (default: --days before --until).")
@click.option("--until", type=options.WHEN, default=None,
              help="ISO date or datetime, exclusive (default: now).")
@click.option("--days", default=30, show_default=True,
              help="Without --since: the period is this many days before --until.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ledger_report(since: datetime | None, until: datetime | None, days: int, as_json: bool) -> None:
    """Totals for a period, one row per currency. Columns: currency; decisions; captured
    (payments, not order totals: `insights costs` compares with order value; not those Stripe
    captured in its test mode); captured in stripe test mode (a test key's payments: no real
    money taken, so not in captured nor the refund rate); refunded;
    credited (bonus included); dry run (what went to the dry-run provider: no money moved, so
    it is in neither refunded nor credited); stripe test mode (what Stripe refunded or credited
    in its test mode, a test key: no real money moved, so it is in neither refunded nor
    credited); kept (items kept without a return); waiting for review (how many, and their
    amount); decided by a person (approved at the final amount, or declined); refund rate
    (refunded, of what was captured); sales kept (retained): exchanges, with the revenue they
    retained; exchanges paid in stripe test mode (differences and originals paid through a
    Checkout Session Stripe made in its test mode: no real money taken, so not in sales kept).

    Then one line of promise keeping: the decisions whose money was returned, with the median
    and p95 time to it, how many missed the promised time or are overdue, and how many went to
    the dry run (no money moved) or to Stripe's test mode (no real money moved)."""
    from refunds_plugin.finance.summary import summarize
    from refunds_plugin.insights.period import span

    if days <= 0:  # else a period starting after it ends, blamed on --since
        raise click.UsageError(f"--days must be a positive number, not {days}")
    options.period(since, until)
    start, end = _period(since, until, days)
    with startup.engine() as engine:
        summary = summarize(engine, start, end, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(summary.to_json(), sort_keys=True))
        return
    click.echo(f"Ledger totals from {span(start, end, until is not None)}")  # as the insights
    if not summary.totals:  # a bare header line would look like a failure
        click.echo("No decisions or payments in this period.")
        return
    rows = []
    for cur, t in sorted(summary.totals.items()):
        rate = t.refund_rate_bp
        rows.append([
            cur, str(t.decisions), english(t.sales, cur), english(t.test_mode_sales, cur),
            english(t.refunded, cur),
            english(t.credited, cur), english(t.dry_run, cur), english(t.test_mode, cur),
            english(t.kept, cur),
            f"{t.review_count} ({english(t.review_amount, cur)})",
            f"{t.review_approved} approved ({english(t.review_approved_amount, cur)}), "
            f"{t.review_declined} declined",
            "-" if rate is None else f"{rate // 100}.{rate % 100:02d}%",
            f"{t.exchanges} ({english(t.exchange_retained, cur)})",
            english(t.test_mode_exchange_paid, cur),
        ])
    tables.echo_table(["currency", "decisions", "captured", "captured in stripe test mode",
                       "refunded", "credited", "dry run",
                       "stripe test mode", "kept", "waiting for review", "decided by a person",
                       "refund rate", "sales kept (retained)",
                       "exchanges paid in stripe test mode"], rows)
    promise = summary.to_json()["promise"]
    median, p95 = (f"{s}s" if s is not None else "-"  # no money returned: no time to show
                   for s in (promise["median_seconds"], promise["p95_seconds"]))
    click.echo(
        f"money returned for {promise['returned']} decision(s): median {median}, p95 {p95}; "
        f"{promise['missed']} missed the promised time, {promise['overdue']} overdue; "
        f"dry run (no money moved): {promise['dry_run']} decision(s); "
        f"stripe test mode (no real money moved): {promise['test_mode']} decision(s)"
    )
