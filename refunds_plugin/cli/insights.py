"""``refunds insights reasons|costs|retention|feedback`` and ``refunds policy compare``.

Each insight prints a table (``--json``: the document ``/api/insights/…`` answers) over
``--since``/``--until`` (dates; a bad one, or a period that ends before it starts, is a usage
error naming the option, exit 2). ``policy compare CURRENT CANDIDATE`` replays the ledger's
return decisions under both policies (read-only, ``insights/compare.py``); ``--csv FILE``
writes every decision the two answer differently (a path that cannot be written fails, exit 2,
before the replay). Without ``--since`` it replays every stored decision, as ``policy simulate``
does. A policy file with mistakes fails with the same words as ``policy check`` (``--json``: as
``policy check --json`` prints them). Every header states its period: a bound at midnight as a
date, any other with its time, no ``--until`` as "now".
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

import policies
from refunds_plugin.cli import options, startup, tables
from refunds_plugin.cli.policy import invalid_json
from refunds_plugin.errors import InputError
from refunds_plugin.finance import spreadsheet
from refunds_plugin.insights import compare as compare_mod
from refunds_plugin.insights.exports import DEFAULT_DAYS, Export, export
from refunds_plugin.insights.period import Period, period, span, until_now
from refunds_plugin.insights.reasons import DIMENSIONS, REASONS
from refunds_plugin.language.catalogue import english


def _since_until(name: str) -> Any:
    """``--since``, ``--until`` and ``--json``; the help says how far back ``name`` looks."""
    def wrap(f: Any) -> Any:
        f = click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")(f)
        f = click.option("--until", type=options.WHEN, default=None,
                         help="ISO date or datetime, exclusive (default: now).")(f)
        return click.option("--since", type=options.WHEN, default=None, help=(
            f"ISO date or datetime, inclusive (default: {DEFAULT_DAYS[name]} days before "
            "--until)."))(f)
    return wrap


def _period(name: str, since: datetime | None, until: datetime | None, now: datetime) -> Period:
    try:
        return period(since, until, now, DEFAULT_DAYS[name])
    except InputError as exc:  # "until: …" names the page's field: here it is the option
        named = exc.message.startswith(("since: ", "until: "))
        raise click.UsageError(("--" if named else "") + exc.message) from None


def _run(name: str, since: datetime | None, until: datetime | None,
         opts: dict[str, str] | None = None) -> tuple[Export, Period]:
    from datetime import UTC

    now = datetime.now(UTC)
    p = _period(name, since, until, now)
    try:
        with startup.engine() as engine:
            return export(name, engine, p, now, opts), p
    except InputError as exc:
        raise click.UsageError(exc.message) from None


def _money(minor: Any, currency: str) -> str:
    return english(int(minor), currency)


def _dry(doc: dict[str, Any]) -> None:
    for notice in ("dry_run_notice", "test_mode_notice"):  # by the period's decisions, not by
        if doc.get(notice):  # today's keys
            click.echo(doc[notice])


@dataclass(frozen=True)
class _TestColumn:
    """The money Stripe paid in its test mode, beside the money back (not in it): a column
    only when the period has some, as on the pages."""
    shown: bool

    @property
    def heading(self) -> tuple[str, ...]:
        return ("STRIPE TEST MODE",) if self.shown else ()

    def cells(self, row: dict[str, Any]) -> tuple[str, ...]:
        return (_money(row["money_test_mode"], row["currency"]),) if self.shown else ()


def _test_mode(doc: dict[str, Any]) -> _TestColumn:
    return _TestColumn(doc.get("test_mode_share", "none") != "none")


def _pct(bp: int | None) -> str:
    return "n/a" if bp is None else f"{bp / 100:.2f} %"


@click.group()
def insights() -> None:
    """What the returns say: reasons by product, costs, who comes back, feedback (fold
    keeps them fast)."""


@insights.command()
@_since_until("reasons")
@click.option("--by", type=click.Choice(DIMENSIONS), default="sku", show_default=True,
              help="Group the rows by this.")
@click.option("--reason", type=click.Choice(REASONS), default=None,
              help="Only what came back for this reason (e.g. not_as_described).")
@click.option("--search", default="", help="Customers' comments containing this text.")
def reasons(since: datetime | None, until: datetime | None, as_json: bool, by: str,
            reason: str | None, search: str) -> None:
    """Units sold and returned, return rate and reasons per SKU, product, collection or tag."""
    found, p = _run("reasons", since, until, {"by": by, "reason": reason or "", "q": search})
    if as_json:
        click.echo(json.dumps(found.document, indent=2))
        return
    click.echo(f"Returns by {by}, {span(p.since, p.until, until is not None)}"
               + (f", reason {reason}" if reason else ""))
    _dry(found.document)
    test = _test_mode(found.document)  # Stripe's test-mode money: a column of its own
    rows = [(r["key"], r["currency"], r["units_sold"], r["units_returned"],
             _pct(r["return_rate_bp"]),
             f"{_pct(r['before_return_rate_bp'])} ({r['before_units_returned']} of "
             f"{r['before_units_sold']})",
             _money(r["money_returned"], r["currency"]),
             *test.cells(r),
             ", ".join(f"{k} {v}" for k in REASONS if (v := r[f"reason_{k}"])))
            for r in found.rows]
    if not rows:
        click.echo("Nothing was sold or came back in this period"
                   + (f" for reason {reason}." if reason else "."))
        return
    tables.echo_table(("KEY", "CUR", "SOLD", "RETURNED", "RATE", "RATE BEFORE", "MONEY BACK",
                       *test.heading, "REASONS (units asked)"), rows, trim=True)
    if found.document["comments"]:  # without a heading they read as rows of the table
        click.echo("Customers' comments (order, reasons):")
    for c in found.document["comments"]:
        click.echo(f"  {c['order_id']} ({c['reasons']}): {c['comment']}")


@insights.command()
@_since_until("costs")
def costs(since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Refunded, credited, bonus, fees, items kept, and each as a share of order value (the
    totals of the orders paid in the period, not the payments captured `ledger report` counts)."""
    found, p = _run("costs", since, until)
    if as_json:
        click.echo(json.dumps(found.document, indent=2))
        return
    click.echo(f"Cost of returns, {span(p.since, p.until, until is not None)}")
    _dry(found.document)
    for s in found.document["sales"]:
        click.echo(f"order value {_money(s['amount'], s['currency'])} (totals of the orders "
                   "paid in the period)")
    tables.echo_table(("CUR", "WHAT", "AMOUNT", "OF ORDER VALUE"), [
        (r["currency"], r["words"], _money(r["amount"], r["currency"]),
         _pct(r["share_of_sales_bp"])) for r in found.rows], right=2)
    for x in found.document["exchanges"]:
        click.echo(f"exchanges {x['currency']}: {x['exchanges']}, fallen back to a refund or "
                   f"credit: {x['fallen_back']}")
    click.echo("per product:")
    test = _test_mode(found.document)
    tables.echo_table(("SKU", "CUR", "ORDER VALUE", "MONEY BACK", "OF IT KEPT", "OF ORDER VALUE",
                       *test.heading), [
        (r["key"], r["currency"], _money(r["sales"], r["currency"]),
         _money(r["money_returned"], r["currency"]), _money(r["money_kept"], r["currency"]),
         _pct(r["share_of_sales_bp"]), *test.cells(r))
        for r in found.document["by_product"]], right=2)


@insights.command()
@_since_until("retention")
def retention(since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Who bought again within 30, 90 and 180 days, by how their return ended."""
    found, p = _run("retention", since, until)
    if as_json:
        click.echo(json.dumps(found.document, indent=2))
        return
    click.echo("Who came back, returns and first orders "
               f"{span(p.since, p.until, until is not None)}")
    _dry(found.document)
    tables.echo_table(("RETURN ENDED", "CUSTOMERS", "DAYS", "CAME BACK", "OF N", "SHARE",
                       "SPENT"), [
        (g["words"], g["customers"], w["days"], w["came_back"], w["n"], _pct(w["share_bp"]),
         ", ".join(_money(s["amount"], s["currency"]) for s in w["spent"]) or "-")
        for g in found.document["groups"] for w in g["windows"]])
    click.echo(found.document["caveat"])


@insights.command()
@_since_until("feedback")
def feedback(since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Customers' ratings (1-5) by outcome, reason, resolution, policy and time to money."""
    found, p = _run("feedback", since, until)
    if as_json:
        click.echo(json.dumps(found.document, indent=2))
        return
    doc = found.document
    click.echo(f"Feedback on decisions {span(p.since, p.until, until is not None)}: "
               f"{doc['answers']} answer(s)")
    if not found.rows:
        return
    tables.echo_table(("BY", "VALUE", "ANSWERS", "AVERAGE", "1", "2", "3", "4", "5"), [
        (r["dimension"], r["value"], r["answers"], f"{r['average_x100'] / 100:.2f}",
         *(r[f"rating_{s}"] for s in range(1, 6))) for r in found.rows])
    for c in doc["comments"]:
        click.echo(f"{c['rating']} of 5: \u201c{c['comment']}\u201d (decision {c['decision_id']})")


@insights.command()
@click.option("--rebuild", is_flag=True,
              help="Rebuild every rollup from the indexed rows (after loading rows in bulk).")
def fold(rebuild: bool) -> None:
    """Fold the writers' marks into the insights' rollups until none is left. The executor's
    loop (refunds serve, refunds worker) does it every 30 seconds; answers are exact
    either way, folding only keeps them fast."""
    from refunds_plugin.ledger import fold as folding
    from refunds_plugin.ledger.db import write_tx

    with startup.engine() as engine:
        if rebuild:
            with write_tx(engine) as conn:
                folding.build(conn)
            click.echo("insights: every rollup rebuilt")
            return
        done = 0
        while worked := folding.fold(engine):
            done += worked
        click.echo(f"insights: {done} mark(s) folded")


# --- policy compare ------------------------------------------------------------------------------


def load(spec: str, name: str, as_json: bool) -> policies.Policy:
    """The policy at ``spec``; a file with mistakes fails as ``policy check`` words them (with
    ``--json``, as ``policy check --json`` prints them, naming the argument), exit 1."""
    try:
        return policies.load_policy(spec)
    except policies.PolicyError as exc:
        if as_json:
            click.echo(json.dumps({"argument": name, **invalid_json(exc)}, indent=2))
            raise SystemExit(1) from None
        raise click.ClickException(str(exc)) from None


def _open_csv(path: Path) -> IO[str]:
    """The CSV file, opened before anything is replayed: a path that cannot be written is one
    line naming it, exit 2, never a traceback after the whole replay."""
    try:
        return path.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        click.echo(f"Error: --csv {path}: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None


@click.command("compare")
@click.argument("current", metavar="CURRENT")
@click.argument("candidate", metavar="CANDIDATE")
@click.option("--since", type=options.WHEN, default=None,
              help="ISO date or datetime, inclusive (default: every stored decision; the "
                   "finance page and /api/insights/compare default to 90 days).")
@click.option("--until", type=options.WHEN, default=None,
              help="ISO date or datetime, exclusive (default: now).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Compare at most N decisions, oldest first.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write each decision answered differently to this CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def compare(current: str, candidate: str, since: datetime | None, until: datetime | None,
            limit: int | None, csv_path: Path | None, as_json: bool) -> None:
    """Replay the ledger's return decisions under CURRENT and CANDIDATE, side by side.

    Without --since every stored decision is replayed (as `policy simulate` does); the finance
    page and /api/insights/compare look back 90 days. Read-only: the live policy and the
    ledger are never changed.
    """
    cur, cand = load(current, "CURRENT", as_json), load(candidate, "CANDIDATE", as_json)
    options.period(since, until)
    end = until or until_now(datetime.now(UTC))  # fixed before reading: a period, not a race
    fh = None if csv_path is None else _open_csv(csv_path)
    with startup.engine() as engine, fh or nullcontext():
        each = None
        if fh is not None:
            writer = spreadsheet.DictWriter(fh, fieldnames=compare_mod.CSV_COLUMNS)
            writer.writeheader()

            def each(row: compare_mod.Row) -> None:
                if row.differs:
                    writer.writerow(row.csv_row())

        report = compare_mod.compare(engine, cur, cand, since, end, limit, each)
    words = span(since, end, until is not None)
    doc = {"since": since and since.isoformat(), "until": end.isoformat(),
           "period": words, **report.to_json()}
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"Return decisions from {words}")
    click.echo(f"compared {doc['compared']} decision(s): {doc['differ']} answered differently, "
               f"{doc['worse_count']} worse for the customer, {doc['unreadable']} unreadable")
    lines = []
    for side in ("current", "candidate"):
        s = doc[side]
        money = "; ".join(
            f"refund {_money(m['refund'], m['currency'])}, credit "
            f"{_money(m['credit'], m['currency'])}, bonus {_money(m['bonus'], m['currency'])}, "
            f"fees {_money(m['fees'], m['currency'])}" for m in s["money"]) or "-"
        lines.append((side, s["policy"], _pct(s["without_person_bp"]), s["declines"], money))
    tables.echo_table(("", "POLICY", "NO PERSON", "DECLINES", "MONEY OUT"), lines)
    if doc["worse"]:
        click.echo("worse for the customer:")
        tables.echo_table(("ORDER", "CUSTOMER", "CURRENT", "CANDIDATE"), [
            (w["order_id"], w["customer"], compare_mod.answer_words(w, "current"),
             compare_mod.answer_words(w, "candidate")) for w in doc["worse"]])
