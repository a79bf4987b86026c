"""``refunds policy simulate``'s report: totals first (counts, the outcome matrix, money out per
currency), then every changed decision, each saying what changed: the outcome, the amount, where
the money goes (refund or store credit), the fees or the credit bonus.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, Any

import click

import policies
from refunds_plugin.cli import tables
from refunds_plugin.finance.simulation import OUTCOMES, Summary
from refunds_plugin.language.catalogue import english
from refunds_plugin.money import Money


def money_out(summary: Summary) -> dict[str, dict[str, Any]]:
    """Per currency: money the policy approves, before and after, in minor units and as text."""
    out = {}
    for cur in sorted(set(summary.money_before) | set(summary.money_after)):
        before, after = summary.money_before.get(cur, 0), summary.money_after.get(cur, 0)
        out[cur] = {"before": before, "after": after, "difference": after - before,
                    "before_text": str(Money(before, cur)), "after_text": str(Money(after, cur)),
                    "difference_text": str(Money(after - before, cur))}
    return out


def emit_json(pol: policies.Policy, summary: Summary, changes: IO[str]) -> None:
    """One JSON document; its ``changes`` list is copied line by line from ``changes``."""
    head = {
        "policy": {"name": pol.name, "content_hash": pol.content_hash},
        "replayed": summary.replayed, "changed": summary.changed,
        "outcome_changed": summary.outcome_changed, "unreadable": summary.unreadable,
        "problems": [{"decision_id": d, "error": e} for d, e in summary.problems],
        "transitions": summary.matrix(), "money_out": money_out(summary),
    }
    text = json.dumps(head, indent=2)
    click.echo(text[:-2] + ',\n  "changes": [')  # reopen the object to stream the list
    for i, line in enumerate(changes):
        click.echo(("" if i == 0 else ",\n") + "    " + line.rstrip("\n"), nl=False)
    click.echo("\n  ]\n}")


def emit_table(pol: policies.Policy, summary: Summary, changes: IO[str]) -> None:
    """Plain text: the counts, the outcome matrix, money out per currency, the changed rows."""
    click.echo(f"policy {pol.name} ({pol.content_hash[:12]}) replayed on "
               f"{summary.replayed} return decision(s)")
    click.echo(f"{summary.changed} would change: {summary.outcome_changed} change outcome, "
               f"{summary.changed - summary.outcome_changed} change only the money")
    if summary.unreadable:
        click.echo(f"{summary.unreadable} could not be replayed:")
        for decision_id, error in summary.problems:
            click.echo(f"  {decision_id}: {error}")
    matrix = summary.matrix()
    _small_table([["before \\ after", *OUTCOMES]] + [
        [old, *(str(matrix[old][new]) for new in OUTCOMES)] for old in OUTCOMES])
    money = money_out(summary)
    if money:
        _small_table([["money out", "before", "after", "difference"]] + [
            [cur, english(m["before"], cur), english(m["after"], cur),
             english(m["difference"], cur)]
            for cur, m in money.items()])
        sent_before = sum(matrix["review"].values())
        sent_after = sum(matrix[old]["review"] for old in OUTCOMES)
        click.echo(f"money out counts only what each policy approves on its own: the "
                   f"{sent_before} decision(s) sent to a person before and the {sent_after} "
                   "after count nothing, even where a person approved the money")
    if not summary.changed:
        return
    head = ["ORDER", "REQUEST", "DECIDED", "BEFORE", "AFTER", "CHANGED", "NEW REASON"]

    def rows() -> Iterator[list[str]]:  # the file is read twice: widths, then lines
        changes.seek(0)
        return (_cells(json.loads(line)) for line in changes)

    widths = tables.column_widths(itertools.chain([head], rows()))
    click.echo("")
    for line in tables.table_lines(itertools.chain([head], rows()), widths):
        click.echo(line)


def _cells(row: dict[str, Any]) -> list[str]:
    b, a, cur = row["before"], row["after"], row["currency"]
    return [row["order_id"], row["request_id"], row["decided_at"][:10], _side(b, cur),
            _side(a, cur), _changed(b, a, cur), a["reason_code"]]


def _side(side: dict[str, Any], cur: str) -> str:
    """``approve 25.00 USD``; with store credit, how the amount is split: a change of refund
    into credit alone is a change of money a person must be able to see."""
    text = f"{side['outcome']} {english(side['amount'], cur)}"
    refund, credit = side["refund_amount"], side["credit_amount"]
    if credit:
        parts = ([f"refund {english(refund, cur)}"] if refund else []) + [
            f"credit {english(credit, cur)}"]
        text += f" ({' + '.join(parts)})"
    return text


def _changed(b: dict[str, Any], a: dict[str, Any], cur: str) -> str:
    """What differs: ``outcome``, ``amount``, where the money goes (refund or credit), the fees
    and the credit bonus."""
    said = [w for w in ("outcome", "amount") if b[w] != a[w]]
    moved = b["amount"] and a["amount"]  # money on both sides: did it change where it goes?
    if moved and (b["refund_amount"], b["credit_amount"]) != (a["refund_amount"],
                                                               a["credit_amount"]):
        only = {(True, False): "refund", (False, True): "credit"}
        was = only.get((bool(b["refund_amount"]), bool(b["credit_amount"])), "split")
        now = only.get((bool(a["refund_amount"]), bool(a["credit_amount"])), "split")
        said.append(f"{was} → {now}" if was != now else f"{now} amount")
    for part in ("fees", "bonus"):  # what the customer is charged, or given on top of credit
        if b.get(part, 0) != a.get(part, 0):
            said.append(f"{part} {english(b.get(part, 0), cur)} → {english(a.get(part, 0), cur)}")
    if b.get("exchange", "") != a.get("exchange", ""):  # swapped, no longer, or settled otherwise
        said.append(f"exchange {b.get('exchange') or 'none'} → {a.get('exchange') or 'none'}")
    return ", ".join(said)


def _small_table(rows: list[list[str]]) -> None:
    click.echo("")
    for line in tables.table_lines(rows, tables.column_widths(rows), right=1):
        click.echo(line)
