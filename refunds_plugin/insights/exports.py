"""Each insight as the entry points hand it out: a JSON document and flat rows for CSV, from one
function per view, so ``/api/insights/…``, the pages and ``refunds insights …`` say the same.

Options come as text (query parameters or command-line values); a value that is not allowed is
an ``InputError`` naming its parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.finance import amounts
from refunds_plugin.insights import costs, feedback, reasons, retention
from refunds_plugin.insights.period import Period

REASON_COLUMNS = ["key", "name", "currency", "units_sold", "sales", "units_asked",
                  "units_returned", "return_rate_bp", "money_returned", "money_kept",
                  *(f"reason_{r}" for r in reasons.REASONS),
                  "before_units_sold", "before_units_returned", "before_return_rate_bp",
                  "dry_run"]
COST_COLUMNS = ["currency", "term", "words", "amount", "share_of_sales_bp", "money_out"]
RETENTION_COLUMNS = ["ending", "words", "customers", "days", "n", "came_back", "share_bp",
                     "spent"]
# amounts also in major units, after every other column (``finance.amounts``), as the finance
# CSVs write them; retention's ``spent`` is one cell per currency list, text, and stays so
REASON_MONEY = ("sales", "money_returned", "money_kept")
# came later (what Stripe paid in its test mode, apart from the money returned): with its
# ``_decimal`` after every earlier column, so none moves
REASON_LATER = ("money_test_mode",)
REASON_CSV = [*amounts.columns(REASON_COLUMNS, REASON_MONEY),
              *amounts.columns(REASON_LATER, REASON_LATER)]
COST_MONEY = ("amount",)
FEEDBACK_COLUMNS = ["dimension", "value", "answers", "average_x100",
                    *(f"rating_{s}" for s in feedback.RATINGS)]


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: list[str]
    found: Any  # the view's own object, for the pages


def _reasons(engine: Engine, p: Period, now: datetime, opts: Mapping[str, str]) -> Export:
    by = opts.get("by") or "sku"
    reason = opts.get("reason") or None
    report = reasons.reasons(engine, p, by, reason)
    doc = report.to_json()
    doc["comments"] = [c.to_json() for c in reasons.comments(
        engine, p, opts.get("q") or "", by, opts.get("key") or None, reason)]
    rows = []
    for r in doc["rows"]:
        flat = {k: v for k, v in r.items() if k not in ("reasons", "before")}
        flat.update({f"reason_{k}": v for k, v in r["reasons"].items()})
        flat.update({f"before_{k}": v for k, v in r["before"].items()})
        flat["dry_run"] = doc["dry_run"]
        rows.append(amounts.with_major(flat, (*REASON_MONEY, *REASON_LATER)))
    return Export(doc, rows, REASON_CSV, report)


def _costs(engine: Engine, p: Period, now: datetime, opts: Mapping[str, str]) -> Export:
    found = costs.costs(engine, p, opts.get("by") or "sku")
    rows = [amounts.with_major(r, COST_MONEY) for r in found.rows()]
    return Export(found.to_json(), rows, amounts.columns(COST_COLUMNS, COST_MONEY), found)


def _retention(engine: Engine, p: Period, now: datetime, opts: Mapping[str, str]) -> Export:
    found = retention.retention(engine, p, now)
    return Export(found.to_json(), found.rows(), RETENTION_COLUMNS, found)


def _feedback(engine: Engine, p: Period, now: datetime, opts: Mapping[str, str]) -> Export:
    found = feedback.summary(engine, p)
    rows = [{**{k: v for k, v in g.items() if k != "ratings"},
             **{f"rating_{s}": n for s, n in g["ratings"].items()}} for g in found.groups()]
    return Export(found.to_json(), rows, FEEDBACK_COLUMNS, found)


VIEWS: dict[str, Callable[[Engine, Period, datetime, Mapping[str, str]], Export]] = {
    "reasons": _reasons,
    "costs": _costs,
    "retention": _retention,
    "feedback": _feedback,
}
# how far back each view looks when no ``since`` is given
DEFAULT_DAYS = {"reasons": 30, "costs": 30, "retention": 365, "feedback": 90}


def export(name: str, engine: Engine, p: Period, now: datetime,
           opts: Mapping[str, str] | None = None) -> Export:
    return VIEWS[name](engine, p, now, opts or {})
