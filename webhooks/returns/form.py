"""The return form as sent: every ``line-N-*`` field the browser posted, checked line by line.

A line the order does not have, a line named twice, or more units than are left is the
customer's form being wrong (a stale page, a hand-edited request): the form is shown again
naming that line, and nothing is recorded. Lines the policy refuses (outside the window, final
sale) are not errors here: the policy decides those line by line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from refunds_plugin.domain.facts import OrderFacts, ReturnLine, ReturnRequest, Variant
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.intake.request_check import LineProblem, line_problem
from refunds_plugin.intake.returns_page import LineOption
from refunds_plugin.ledger import text
from webhooks.returns.strings import Strings


@dataclass(frozen=True)
class Problem:
    """A sentence saying what to fix, and the id of the field it is about (``line-0-reason``),
    which the page marks invalid and the error summary links to."""

    text: str
    field: str | None  # None: the form as a whole (nothing chosen)


_LINE_FIELD = re.compile(r"^line-(\d{1,4})-(?:id|qty|reason|exchange)$")


def _quantity(raw: str) -> int | None:
    raw = raw.strip()
    # str.isdigit() is also true of "²" and "١", which int() refuses or reads as another digit
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _said(p: LineProblem, t: Strings) -> str:
    if p.kind == "unknown":
        return t.unknown_line.format(line=p.line_id[:80] or "?")
    if p.kind == "twice":
        return t.line_twice.format(item=p.name)
    if p.kind == "returned":
        return t.line_returned.format(item=p.name)
    return t.too_many_units(p.name, p.left, p.quantity)


def parse(facts: OrderFacts, form: Mapping[str, str], t: Strings, request_id: str,
          swaps: Mapping[str, tuple[Variant, ...]] | None = None,
          ) -> tuple[ReturnRequest | None, list[Problem]]:
    """The request the form asks for, or what to fix, field by field (and no request).
    ``swaps``: what each line may be exchanged for (``line-N-exchange`` names one by sku)."""
    indices = sorted({int(m.group(1)) for key in form if (m := _LINE_FIELD.match(key))})
    lines: list[ReturnLine] = []
    errors: list[Problem] = []
    seen: set[str] = set()
    for i in indices:
        qty = _quantity(form.get(f"line-{i}-qty", "0") or "0")
        line_id = form.get(f"line-{i}-id", "")
        if qty == 0:
            continue  # the customer left this line alone
        # the service's own check (``intake.request_check``), said in the page's words
        problem = line_problem(facts, line_id, qty, seen)
        if problem is None or problem.kind in ("returned", "too_many"):
            seen.add(line_id)  # the order has it: named again, it is named twice
        if problem is not None:
            errors.append(Problem(_said(problem, t), f"line-{i}-qty"))
            continue
        line = facts.line(line_id)
        assert line is not None  # line_problem found it
        if qty is None:
            errors.append(Problem(t.pick_quantity.format(item=line.name), f"line-{i}-qty"))
            continue
        try:
            reason = Reason(form.get(f"line-{i}-reason", ""))
        except ValueError:
            errors.append(Problem(t.pick_reason.format(item=line.name), f"line-{i}-reason"))
            continue
        wanted = form.get(f"line-{i}-exchange", "").strip()
        item = next((v for v in (swaps or {}).get(line.id, ()) if v.sku == wanted), None)
        if wanted and item is None:
            errors.append(Problem(t.pick_exchange.format(item=line.name), f"line-{i}-exchange"))
            continue
        lines.append(ReturnLine(line.id, qty, reason, item))
    if not lines and not errors:
        errors.append(Problem(t.pick_something, None))
    if text.NUL in form.get("comment", ""):  # PostgreSQL cannot keep it: say so, keep nothing
        errors.append(Problem(t.unreadable_text, "comment"))
    if errors:
        return None, errors
    try:
        preferred: ResolutionKind | None = ResolutionKind(form.get("resolution", ""))
    except ValueError:
        preferred = None
    return ReturnRequest(
        request_id=request_id, order_id=facts.order_id, lines=tuple(lines),
        preferred_resolution=preferred, comment=form.get("comment", "")[:2000],
        channel="returns_page",
    ), []


def shown_fields(options: list[LineOption]) -> list[str]:
    """The ids of the form's fields, in page order: a line already returned has none."""
    ids: list[str] = []
    for i, o in enumerate(options):
        if o.state != "returned":
            ids += [f"line-{i}-qty", f"line-{i}-reason"] + (
                [f"line-{i}-exchange"] if o.exchange_to else [])
    return ids


def on_fields(errors: list[Problem], shown: list[str]) -> list[Problem]:
    """Each problem linked to a field this page shows: "choose something" to the first
    quantity; one about a line the page no longer has (a stale form) to none."""
    first = shown[0] if shown else None
    return [Problem(e.text, first if e.field is None else e.field if e.field in shown else None)
            for e in errors]


def by_field(errors: list[Problem], shown: list[str]) -> dict[str, str]:
    """The first problem per field, which the field shows and is described by."""
    out: dict[str, str] = {}
    for e in on_fields(errors, shown):
        if e.field is not None:
            out.setdefault(e.field, e.text)
    return out
