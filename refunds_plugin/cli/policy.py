"""``refunds policy check|explain|simulate``: validate a policy and see how it decides.

``check FILE`` accepts a path or ``preset:NAME`` and prints the rules in plain words (exit 1 on an
invalid file). ``explain`` builds order facts and a return request from flags (one line, the
quick way) or from a JSON file (``{"now", "facts", "request"}``, amounts in minor units) and
prints the decision with its full rule trace, as a table or ``--json`` (with ``test_mode``; in
test mode neither promises when money goes); refunds and store credit go in the steps of the
payment's provider, as the service sends them (``--paid-with``, default Stripe: 0.010 for KWD;
``ledger.facts.step_for``), and the table says which. ``simulate`` replays
the return decisions in the ledger under a candidate policy (read-only, see
``finance/simulation.py``) and reports totals first, then every changed decision; those arrive as
JSON lines in a spool file, so a large ledger is printed without holding its rows in memory.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy import Engine

import policies
from policies.explanation import as_dry_run
from refunds_plugin import routing
from refunds_plugin.cli import options, startup, tables
from refunds_plugin.cli import simulate_report as report
from refunds_plugin.cli.as_seen import labels_line, money_line, paid_with, returns_line
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import (
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.exchanges.shipping import channel_warning
from refunds_plugin.finance.currencies import ledger_warnings
from refunds_plugin.finance.rows import DATE_HINT, parse_when
from refunds_plugin.finance.simulation import (
    Comparison,
    Summary,
    count_returns,
    facts_from_json,
    replay,
    request_from_json,
)
from refunds_plugin.intake.physical import labelled
from refunds_plugin.language.catalogue import english
from refunds_plugin.language.said import render as said_again
from refunds_plugin.ledger.facts import step_for
from refunds_plugin.money import (
    AmountError,
    CurrencyError,
    Money,
    exponent,
    normalize_currency,
)
from refunds_plugin.routing import money_modes
from refunds_plugin.shipping.listing import (
    address_warning,
    key_warning,
    label_warning,
    scan_warning,
    ship_scan_warning,
    tracking_warning,
)

_REASONS = [r.value for r in Reason]
COUNT = click.IntRange(min=0)  # a count of units, days, orders: never negative (exit 2 if so)


def invalid_json(exc: policies.PolicyError) -> dict[str, Any]:
    """A policy with mistakes as ``policy check --json`` prints it."""
    return {"valid": False, "source": exc.source,
            "problems": [{"path": p, "expected": e} for p, e in exc.problems]}


@click.group()
def policy() -> None:
    """Check a policy file, or see how a policy decides one return."""


@policy.command()
@click.argument("spec", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(spec: str, as_json: bool) -> None:
    """Validate FILE (a path or preset:NAME) and print its rules in plain words."""
    try:
        pol = policies.load_policy(spec)
    except policies.PolicyError as exc:
        if as_json:
            click.echo(json.dumps(invalid_json(exc), indent=2))
        else:
            click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    config = startup.config()
    warnings = ledger_warnings(config.database_url, pol)
    warnings += [w for w in (channel_warning(pol.exchange.allowed, config.outbound_url),
                             address_warning(bool(config.return_addresses)),
                             label_warning(pol.return_shipping.label, config.carrier),
                             key_warning(config.easypost_api_key, money_modes(config)),
                             scan_warning(pol, config.can_label, bool(config.return_addresses)),
                             ship_scan_warning(pol, config.can_label,
                                               bool(config.return_addresses)),
                             tracking_warning(pol, config.can_label,
                                              config.easypost_webhook_secret))
                 if w]
    test = money_modes(config)["stripe"] != "live"  # as ``explain`` says it per order
    rules = pol.describe(can_label=config.can_label, returns_open=bool(config.return_addresses),
                         test_mode=test)
    if as_json:
        click.echo(json.dumps({"valid": True, "name": pol.name, "content_hash": pol.content_hash,
                               "test_mode": test, "rules": rules, "warnings": warnings},
                              indent=2))
        return
    click.echo(f"OK: {spec} is a valid policy named {pol.name!r}, sha256 {pol.content_hash}")
    for line in rules[1:]:
        click.echo(f"  - {line}")
    for line in warnings:
        click.echo(line, err=True)



@policy.command()
@click.option("--policy", "spec", envvar="REFUNDS_POLICY", default="preset:default",
              show_default=True, help="Policy file or preset:NAME (env REFUNDS_POLICY).")
@click.option("--input", "input_file",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help='JSON file {"now", "facts", "request"} ("-": standard input); replaces '
                   'the order flags below.')
@click.option("--now", "now_at", type=options.WHEN,
              help="Decision time, ISO 8601 (default: the current time).")
@click.option("--currency", default="USD", show_default=True,
              help="The order's currency (ISO 4217).")
@click.option("--price", default="25.00", show_default=True, help="Unit price, decimal.")
@click.option("--ordered", default=1, show_default=True, type=click.IntRange(min=1),
              help="Units on the order.")
@click.option("--quantity", default=1, show_default=True, type=COUNT, help="Units to return.")
@click.option("--returned", default=0, show_default=True, type=COUNT,
              help="Units already asked back (earlier returns approved or in review).")
@click.option("--reason", type=click.Choice(_REASONS), default="changed_mind", show_default=True,
              help="Why it comes back.")
@click.option("--prefer", type=click.Choice(["refund", "credit"]), default=None,
              help="What the customer asks for (default: the policy's default).")
@click.option("--sku", default="SKU-1", show_default=True,
              help="The item (also its name in the explanation).")
@click.option("--tag", "tags", multiple=True, help="Product tag (repeatable).")
@click.option("--collection", "collections", multiple=True, help="Collection (repeatable).")
@click.option("--shipping", default="0", show_default=True, help="Order shipping, decimal.")
@click.option("--days-since-delivery", "days", default=10, show_default=True, type=COUNT,
              help="Days from delivery to the request (paid 2 days before delivery).")
@click.option("--disputed", is_flag=True, help="The payment is disputed.")
@click.option("--orders", default=1, show_default=True, type=COUNT,
              help="Customer's orders so far.")
@click.option("--total-paid", default=None, help="Customer's lifetime spend (default: order).")
@click.option("--months", default=0, show_default=True, type=COUNT, help="Months as a customer.")
@click.option("--recent-refunds", default=0, show_default=True, type=COUNT,
              help="Refunds in abuse window.")
@click.option("--recent-refunded", default="0", show_default=True, help="Value of those.")
@click.option("--total-refunded", default="0", show_default=True, help="Lifetime refunded.")
@click.option("--not-received", default=0, show_default=True, type=COUNT,
              help="Past 'not received' claims.")
@click.option("--exchange-for", default=None, metavar="SKU",
              help="Ask to exchange the line for this item instead of a refund.")
@click.option("--exchange-price", default=None,
              help="The new item's unit price (default: --price).")
@click.option("--other-product", is_flag=True,
              help="The new item is another product, not a size or colour of this one.")
@click.option("--out-of-stock", is_flag=True, help="The new item is out of stock.")
@click.option("--paid-with", type=click.Choice(["stripe", "saleor", "other"]), default="stripe",
              show_default=True, help="The order's payment (a dearer item's difference is "
              "charged on Stripe only).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def explain(spec: str, input_file: str | None, now_at: datetime | None, as_json: bool,
            **flags: Any) -> None:
    """Decide one return under a policy and show every rule's answer."""
    try:
        pol = policies.load_policy(spec)
    except policies.PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    if input_file:
        now, facts, request = _from_file(input_file, now_at)
    else:
        now = now_at or datetime.now(UTC)
        facts, request = _from_flags(now, **flags)
    config = startup.config()
    facts = labelled(facts, config)  # as the service decides: no label, no label fee
    # as the service decides in test mode (no Stripe key, or a test key): nothing is charged
    # (``Service.decided_on``) and the customer is not told when money goes
    test = routing.test_mode(config, routing.route(config, facts).values())
    if test:
        facts = replace(facts, can_charge=False)
    decision = policies.evaluate(pol, facts, request, now)
    if as_json:  # in test mode, as the human output: flagged, and no promise
        told = decision.to_dict() | {"test_mode": test}
        # the words an English reader is answered with (the storefront's answer, the human
        # output: "10,221 JPY"), not the ledger's plain form ("10221 JPY")
        told["explanation"] = said_again(as_dry_run(decision.explanation) if test
                                         else decision.explanation, "en")
        click.echo(json.dumps(told, indent=2, default=str))
    else:
        said = [paid_with(facts), labels_line(pol, facts), returns_line(facts),
                money_line(test), render(decision, test_mode=test)]
        click.echo("\n".join(line for line in said if line is not None))


def _from_file(path: str, now_at: datetime | None
               ) -> tuple[datetime, OrderFacts, ReturnRequest]:
    """``--input``: the case from a JSON file; a mistake in it is said in words (never as a
    Python exception's repr): what was found and what is expected."""
    def bad(what: str) -> click.BadParameter:
        return click.BadParameter(f"{'standard input' if path == '-' else path}: {what}",
                                  param_hint="'--input'")

    try:
        doc = json.loads(sys.stdin.read() if path == "-"
                         else Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"expected JSON text, found {exc}") from None
    if not isinstance(doc, dict):
        raise bad(f'expected an object {{"now", "facts", "request"}}, found '
                  f"{type(doc).__name__}")
    missing = [k for k in ("facts", "request") if not isinstance(doc.get(k), dict)]
    if missing:
        raise bad(f"expected an object under {' and '.join(map(repr, missing))}, found "
                  + ", ".join(f"{k}={doc.get(k)!r}" for k in missing))
    try:
        now = now_at or parse_when(doc.get("now")) or datetime.now(UTC)
    except ValueError:
        raise bad(f"now: expected {DATE_HINT}, found {doc.get('now')!r}") from None
    try:
        facts = facts_from_json(doc["facts"])
        if "refund_increment" not in doc["facts"]:  # the service's step for its payments
            facts = replace(facts, refund_increment=step_for(facts.payments, facts.currency))
        return now, facts, request_from_json(doc["request"])
    except KeyError as exc:
        raise bad(f"expected a field {exc.args[0]!r}, found it missing") from None
    except (AmountError, CurrencyError) as exc:
        raise bad(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise bad(f"a field has the wrong type or value: {exc}") from None


def _from_flags(now: datetime, **f: Any) -> tuple[OrderFacts, ReturnRequest]:
    try:
        cur = normalize_currency(f["currency"])
    except CurrencyError:
        raise click.BadParameter(f"expected an ISO 4217 code such as USD, found "
                                 f"{f['currency']!r}", param_hint="'--currency'") from None

    example = Money(25 * 10 ** exponent(cur), cur).decimal_string()  # 25.00, 25 JPY, 25.000

    def minor(name: str) -> int:
        hint = f"'--{name.replace('_', '-')}'"
        try:
            amount = Money.parse(f[name], cur).minor
        except AmountError as exc:
            raise click.BadParameter(f"expected an amount in {cur} such as {example}, found "
                                     f"{f[name]!r} ({exc})", param_hint=hint) from None
        if amount < 0:  # no order is paid, shipped or refunded a negative amount
            raise click.BadParameter(f"expected an amount of 0 or more in {cur} such as "
                                     f"{example}, found {f[name]!r}", param_hint=hint)
        return amount

    item = None
    if f["exchange_for"]:
        price = minor("exchange_price") if f["exchange_price"] else minor("price")
        item = Variant(f["exchange_for"], f["exchange_for"], price, not f["out_of_stock"])
    line = OrderLine("line-1", f["sku"], f["sku"], f["ordered"], minor("price"),
                     tags=tuple(f["tags"]), collections=tuple(f["collections"]),
                     variants=(item,) if item and not f["other_product"] else ())
    total = line.amount + minor("shipping")
    delivered = now - timedelta(days=f["days"])
    history = CustomerHistory(
        total_paid=minor("total_paid") if f["total_paid"] else total, order_count=f["orders"],
        first_order_at=now - timedelta(days=round(f["months"] * 30.44)),
        total_refunded=minor("total_refunded"), refunds_recent_count=f["recent_refunds"],
        refunds_recent_amount=minor("recent_refunded"), not_received_claims=f["not_received"])
    paid = (PaymentFacts(f["paid_with"], "pay-1", total, disputed=f["disputed"]),)
    facts = OrderFacts(
        order_id="cli-1", currency=cur, lines=(line,), shipping_amount=minor("shipping"),
        total_amount=total, paid_at=delivered - timedelta(days=2),
        fulfilled_at=delivered - timedelta(days=1), delivered_at=delivered,
        payments=paid, refund_increment=step_for(paid, cur),
        returned_quantities=(("line-1", f["returned"]),) if f["returned"] else (),
        history=history)
    prefer = ResolutionKind(f["prefer"]) if f["prefer"] else None
    request = ReturnRequest("cli-request", "cli-1",
                            (ReturnLine("line-1", f["quantity"], Reason(f["reason"]), item),),
                            preferred_resolution=prefer)
    return facts, request


def render(d: Decision, *, test_mode: bool = False) -> str:
    """The decision as a short summary, a rule table and the customer's explanation (in test
    mode without its promise of when money goes, as the customer reads it then)."""
    def money(minor: int) -> str:
        return english(minor, d.currency)

    out = [f"outcome:     {d.outcome.value} ({d.reason_code})",
           f"policy:      {d.policy_name} ({d.policy_hash[:12]})",
           f"amount:      {money(d.amount)}  refund {money(d.refund_amount)}  "
           f"credit {money(d.credit_amount)}  shipping {money(d.shipping_refund)}",
           f"fees:        {', '.join(f'{f.code} {money(f.amount)}' for f in d.fees) or 'none'}",
           f"send back:   {'yes' if d.return_required else 'no'}"]
    for r in d.resolutions:
        extra = f" + bonus {money(r.bonus)}" if r.bonus else ""
        out.append(f"resolution:  {r.kind.value} {money(r.amount)}{extra}"
                   f"{' to ' + r.payment_reference if r.payment_reference else ''}")
    if (ex := d.exchange) is not None:
        swaps = ", ".join(f"{ln.line_id} → {ln.sku} ({money(ln.in_amount)})" for ln in ex.lines)
        out.append(f"exchange:    {swaps}; difference {money(ex.difference)} settled as "
                   f"{ex.settled_as} (back {money(ex.back)}, waived {money(ex.waived)}, "
                   f"charge {money(ex.charge)}); ships on {ex.ship_on}")
    rows = [("RULE", "VERDICT", "CODE", "SAYS")] + [
        (t.rule, t.verdict, t.code, said_again(t.message, "en")) for t in d.trace]
    widths = [*tables.column_widths(row[:3] for row in rows), 0]  # what it says: not padded
    out.append("")
    out += tables.table_lines(rows, widths, trim=False)
    told = as_dry_run(d.explanation) if test_mode else d.explanation
    out += ["", said_again(told, "en")]  # as an English reader reads it
    return "\n".join(out)


# --- simulate ------------------------------------------------------------------------------------


@policy.command()
@click.argument("spec", metavar="FILE_OR_PRESET")
@click.option("--since", type=options.WHEN, default=None,
              help="ISO date or datetime of the decision, inclusive (default: every stored "
                   "decision).")
@click.option("--until", type=options.WHEN, default=None,
              help="ISO date or datetime, exclusive (default: now).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Replay at most N decisions of the period, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def simulate(spec: str, since: datetime | None, until: datetime | None, limit: int | None,
             as_json: bool) -> None:
    """Replay the ledger's return decisions under FILE_OR_PRESET and show what would change.

    Reads the ledger at REFUNDS_DATABASE_URL and never writes to it. Each decision is decided
    again on the facts stored with it, as of the moment it was first decided.
    """
    from sqlalchemy import inspect

    from refunds_plugin.ledger.db import checked_url

    try:
        pol = policies.load_policy(spec)
    except policies.PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    options.period(since, until)
    start, end = since, until
    url = checked_url(startup.config().database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or ":memory:").is_file():
        raise click.ClickException(f"no ledger at {url.database}: check REFUNDS_DATABASE_URL")
    # changed rows wait in a spool (on disk past 1 MiB) so the totals can be printed first
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as spool:
        with startup.engine(url.render_as_string(hide_password=False)) as engine:
            if not inspect(engine).has_table("decisions"):
                raise click.ClickException(
                    f"no ledger tables at {url.render_as_string(hide_password=True)}: "
                    "run `refunds migrate` first")
            summary = _replay_into(spool, engine, pol, start, end, limit)
        spool.seek(0)
        if as_json:
            report.emit_json(pol, summary, spool)
        else:
            report.emit_table(pol, summary, spool)


def _replay_into(spool: IO[str], engine: Engine, pol: policies.Policy, start: datetime | None,
                 end: datetime | None, limit: int | None) -> Summary:
    """One pass over the ledger: totals in memory, each changed decision a JSON line in spool."""
    summary = Summary()
    comparisons: Iterable[Comparison] = replay(engine, pol, start, end, limit)
    with contextlib.ExitStack() as stack:
        if sys.stderr.isatty():
            total = count_returns(engine, start, end)
            comparisons = stack.enter_context(click.progressbar(
                comparisons, length=min(total, limit or total), label="replaying",
                file=sys.stderr))
        for cmp in comparisons:
            summary.add(cmp)
            if cmp.changed:
                spool.write(json.dumps(cmp.to_dict()) + "\n")
    return summary
