"""Finance commands: ``refunds tokens create``, ``refunds reconcile``, and ``ledger head`` /
``ledger verify`` / ``ledger report`` (attached to cli.py's ``ledger`` group through
``ledger_commands``)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click


@contextmanager
def _engine() -> Iterator[Any]:
    from refunds_plugin.cli import _config
    from refunds_plugin.ledger.db import make_engine

    engine = make_engine(_config().database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@click.group()
def tokens() -> None:
    """API tokens for the /finance pages and /api (roles: finance reads, admin decides)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(["finance", "admin"]), required=True)
@click.option("--name", required=True, help="Who holds the token (shown in the audit trail).")
@click.option("--expires-days", type=int, default=None, help="Days until it stops working.")
def tokens_create(role: str, name: str, expires_days: int | None) -> None:
    """Create a token. It is printed once; only its SHA-256 hash is stored."""
    from refunds_plugin.errors import InputError
    from refunds_plugin.finance.tokens import create_token

    try:
        with _engine() as engine:
            made = create_token(engine, name, role, datetime.now(UTC), expires_days)
    except InputError as exc:
        raise click.UsageError(exc.message) from None
    until = made.principal.expires_at.isoformat() if made.principal.expires_at else "never"
    click.echo(f"token #{made.principal.token_id} for {name} ({role}), expires {until}", err=True)
    click.echo("store it now: it cannot be shown again", err=True)
    click.echo(made.secret)


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


@click.command("head")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def ledger_head(as_json: bool) -> None:
    """The chain's newest entry: seq, hash, when it was written, how many entries there are.

    Keep its SEQ:HASH (the `anchor` line) where the database's writers cannot change it, on a
    schedule: the month-end email, a ticket, a git commit. `refunds ledger verify --anchor
    SEQ:HASH` later fails if anything up to that entry was rewritten, even with every later
    hash recomputed.
    """
    from refunds_plugin.finance.verify import chain_head

    with _engine() as engine:
        head = chain_head(engine)
    if as_json:
        empty = {"seq": None, "hash": None, "created_at": None, "entries": 0, "anchor": None}
        click.echo(json.dumps(head.to_json() if head else empty, sort_keys=True))
    elif head is None:
        click.echo("the ledger has no entries yet: nothing to anchor")
    else:
        for name, value in head.to_json().items():
            click.echo(f"{name:<10}  {value}")


@click.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Problems as JSON lines.")
@click.option("--anchor", "anchors", type=AnchorParam(), multiple=True,
              help="SEQ:HASH from an earlier `refunds ledger head`, kept outside the database: "
                   "fail unless entry SEQ still has that hash. Repeatable.")
def ledger_verify(as_json: bool, anchors: tuple[tuple[int, str], ...]) -> None:
    """Walk the hash chain and check every decision, attempt and review row against it.

    Exits 1 and names the first altered entry or row when anything does not hold. The chain
    alone cannot see a rewrite that recomputed every later hash; --anchor can, for every entry
    up to the anchored one.
    """
    from refunds_plugin.finance.verify import verify_ledger

    with _engine() as engine:
        problems = verify_ledger(engine, anchors=anchors)
    if as_json:
        for p in problems:
            click.echo(json.dumps({"where": p.where, "problem": p.problem, "detail": p.detail}))
    if not problems:
        if not as_json:
            held = f"; {len(set(anchors))} anchor(s) hold" if anchors else ""
            click.echo(f"ledger verified: the chain holds and every row matches its entries{held}")
        return
    if not as_json:
        click.echo(f"LEDGER ALTERED: first problem at {problems[0]}", err=True)
        for p in problems[1:]:
            click.echo(f"  also: {p}", err=True)
    sys.exit(1)


def _period(since: str | None, until: str | None, days: int) -> tuple[datetime, datetime]:
    from refunds_plugin.finance.reports import parse_when

    end = parse_when(until) or datetime.now(UTC)
    return parse_when(since) or end - timedelta(days=days), end


@click.command("report")
@click.option("--since", default=None, help="ISO date or datetime, inclusive.")
@click.option("--until", default=None, help="ISO date or datetime, exclusive (default now).")
@click.option("--days", default=30, show_default=True, help="Period length without --since.")
@click.option("--json", "as_json", is_flag=True)
def ledger_report(since: str | None, until: str | None, days: int, as_json: bool) -> None:
    """Totals for a period: sales, refunded, credited, kept, sent to review, refund rate."""
    from refunds_plugin.finance.summary import summarize
    from refunds_plugin.money import Money

    start, end = _period(since, until, days)
    with _engine() as engine:
        summary = summarize(engine, start, end, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(summary.to_json(), sort_keys=True))
        return
    click.echo(f"period {start.isoformat()} .. {end.isoformat()}")
    rows = []
    for cur, t in sorted(summary.totals.items()):
        rate = t.refund_rate_bp
        rows.append([
            cur, str(t.decisions), str(Money(t.sales, cur)), str(Money(t.refunded, cur)),
            str(Money(t.credited, cur)), str(Money(t.kept, cur)),
            f"{t.review_count} ({Money(t.review_amount, cur)})",
            "-" if rate is None else f"{rate // 100}.{rate % 100:02d}%",
        ])
    _table(["currency", "decisions", "sales", "refunded", "credited", "kept", "review",
            "refund rate"], rows)
    promise = summary.to_json()["promise"]
    click.echo(
        f"money returned for {promise['returned']} decision(s): median "
        f"{promise['median_seconds']}s, p95 {promise['p95_seconds']}s; "
        f"{promise['missed']} missed the promised time, {promise['overdue']} overdue"
    )


@click.command("reconcile")
@click.option("--provider", type=click.Choice(["stripe"]), default="stripe", show_default=True)
@click.option("--since", required=True, help="ISO date or datetime: refunds created from then.")
@click.option("--json", "as_json", is_flag=True)
def reconcile_cmd(provider: str, since: str, as_json: bool) -> None:
    """List every difference between the provider's refunds and the ledger; exit 1 if any."""
    from refunds_plugin.cli import _config
    from refunds_plugin.finance.reconcile import reconcile, stripe_refunds
    from refunds_plugin.finance.reports import parse_when
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.providers.stripe import StripeProvider

    config = _config()
    if not config.stripe_api_key:
        raise click.UsageError("REFUNDS_STRIPE_API_KEY is not set: nothing to reconcile against")
    start = parse_when(since)
    assert start is not None
    client = StripeProvider(
        config.stripe_api_key, api_base=config.stripe_api_base, timeout=config.stripe_timeout_s
    ).client
    engine = make_engine(config.database_url)
    try:
        found = reconcile(engine, stripe_refunds(client, start), start, provider)
    finally:
        engine.dispose()
    if as_json:
        for m in found:
            click.echo(json.dumps(m.to_json(), sort_keys=True))
    elif not found:
        click.echo(f"{provider} and the ledger agree on every refund since {start.isoformat()}")
    else:
        _table(["mismatch", "refund", "attempt", "ledger", provider],
               [[m.kind, m.refund_id or "-", m.attempt_id or "-", m.ledger, m.provider]
                for m in found])
    if found:
        sys.exit(1)


def export_with_progress(
    db_url: str, output: Any, fmt: str, since: datetime | None, until: datetime | None
) -> int:
    """``ledger export``: stream the rows; a progress bar on stderr only when it is a terminal."""
    from refunds_plugin.finance.reports import count_decisions, export_decisions
    from refunds_plugin.ledger.db import make_engine

    engine = make_engine(db_url)
    try:
        if not sys.stderr.isatty():
            return export_decisions(engine, output, fmt, since, until)
        total = count_decisions(engine, since, until)
        with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
            return export_decisions(engine, output, fmt, since, until, progress=bar.update)
    finally:
        engine.dispose()


commands = [tokens, reconcile_cmd]
ledger_commands = [ledger_head, ledger_verify, ledger_report]
