"""Why things come back: per SKU, product, collection or tag, the units sold in a period, the
units returned, the return rate, the reasons, the money returned, and the same for the period
before; and the customers' comments, searchable.

Units sold are order lines counted when their order was paid (``order_lines.at``); returns are
counted when they were decided (``return_lines.at``). A unit is *returned* when its return was
granted (``rollups.granted``: approved by a person, or by the policy and not declined by a
person since); *asked* counts every unit customers asked to send back, declined ones too. Money
returned is what is paid for the granted lines, before fees, in the line's currency (less what
the provider's step left out and what the order's payment could not hold:
``line_index.paid_body``); an exchanged line's value is none of
it (its unit came back for another item). Where the dry-run provider "paid" a return of the period,
``dry_run`` is true and the money returned is what would have been paid: no money moved. A
return Stripe paid in its test mode (a test key: a succeeded attempt's ``livemode`` is false,
``rollups.in_test_mode``) moved no real money: its lines are not in the money returned (nor in
the money kept) but in ``money_test_mode``, as the costs keep such money out of refunded and
money out; a return whose mode is not known (before revision 0025) counts as paid.
Rates are in basis points (1 bp = 0.01 %), rounded half up.

The sums come from the day rollups for whole days, and from the indexed rows for the partial
days at a period's edges and for days not folded yet (``ledger/rollups.py``), in one statement
each: the same figures as summing the indexed rows alone (``rollups=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, literal, select

from refunds_plugin.domain.kinds import Reason
from refunds_plugin.errors import InputError
from refunds_plugin.insights.dryrun import (
    NOTICES,
    REASONS_TEST_NOTICES,
    WORDS,
    dry_share,
    stripe_test_share,
)
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger import rollups
from refunds_plugin.ledger.rollups import DIMENSIONS, granted
from refunds_plugin.ledger.tables import (
    decisions,
    order_line_labels,
    return_figures,
    return_lines,
)

__all__ = ["DIMENSIONS", "REASONS", "granted", "reasons", "comments"]
REASONS = tuple(r.value for r in Reason)


def rate_bp(part: int, whole: int) -> int | None:
    """``part`` as basis points of ``whole``, rounded half up (2 of 3: 6667, shown 66.67 %);
    None when there is no whole. Every share the insights show is this one figure."""
    if not whole:
        return None
    return (2 * part * 10_000 + whole) // (2 * whole)


@dataclass
class Row:
    key: str
    currency: str
    name: str = ""
    sold: int = 0
    sales: int = 0  # money of the units sold
    asked: int = 0
    returned: int = 0
    money_returned: int = 0
    money_kept: int = 0  # of the money returned, for items that stay with the customer
    money_test: int = 0  # granted lines Stripe paid in its test mode: not in money returned
    reasons: dict[str, int] = field(default_factory=dict)  # units asked, by reason
    before_sold: int = 0
    before_returned: int = 0

    @property
    def rate_bp(self) -> int | None:
        return rate_bp(self.returned, self.sold)

    @property
    def before_rate_bp(self) -> int | None:
        return rate_bp(self.before_returned, self.before_sold)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "currency": self.currency,
                "units_sold": self.sold, "sales": self.sales, "units_asked": self.asked,
                "units_returned": self.returned, "return_rate_bp": self.rate_bp,
                "money_returned": self.money_returned, "money_kept": self.money_kept,
                "money_test_mode": self.money_test,
                "reasons": {r: self.reasons.get(r, 0) for r in REASONS},
                "before": {"units_sold": self.before_sold,
                           "units_returned": self.before_returned,
                           "return_rate_bp": self.before_rate_bp}}


def _sold(conn: Connection, by: str, p: Period, use: bool) -> list[Any]:
    u = rollups.sold(by, rollups.span(p.start, p.end, use))
    return list(conn.execute(select(u.c.key, u.c.currency, func.max(u.c.name).label("name"),
                                    func.sum(u.c.units).label("units"),
                                    func.sum(u.c.money).label("money"))
                             .group_by(u.c.key, u.c.currency)))


def _returned(conn: Connection, by: str, p: Period, use: bool) -> list[Any]:
    u = rollups.returned(by, rollups.span(p.start, p.end, use))
    yes = u.c.granted == 1
    real = u.c.money - u.c.test_money  # Stripe's test mode moved no real money
    return list(conn.execute(
        select(u.c.key, u.c.currency, u.c.reason, func.sum(u.c.units).label("asked"),
               func.sum(case((yes, u.c.units), else_=0)).label("returned"),
               func.sum(case((yes, real), else_=0)).label("money"),
               func.sum(case((and_(yes, u.c.kept == 1), real), else_=0)).label("kept"),
               func.sum(case((yes, u.c.test_money), else_=0)).label("test"))
        .group_by(u.c.key, u.c.currency, u.c.reason)))


@dataclass(frozen=True)
class Report:
    by: str
    period: Period
    rows: list[Row]
    reason: str | None  # only the rows this reason brought back, most first
    dry_run: bool = False  # some of the period's money went through the dry-run provider
    dry_share: str = "none"  # how much: all | some | none (``insights.dryrun.dry_share``)
    test_share: str = "none"  # Stripe's test mode, the same (``dryrun.stripe_test_share``)

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, **self.period.to_json(), "before": self.period.before().to_json(),
                "reason": self.reason, "dry_run": self.dry_run, "dry_run_share": self.dry_share,
                "dry_run_notice": NOTICES.get(self.dry_share),
                **test_mode(self.test_share),
                "money_words": money_words(self.dry_run, self.dry_share),
                "rows": [r.to_json() for r in self.rows]}


def test_mode(share: str) -> dict[str, Any]:
    """An insight's Stripe test-mode keys: how much of its money (``share``) and the notice."""
    return {"test_mode_share": share, "test_mode_notice": REASONS_TEST_NOTICES.get(share)}


def money_words(dry: bool, share: str = "all") -> str:
    """What "money returned" is, said truthfully (``share``: see ``Report.dry_share``); what
    Stripe paid in its test mode is never in it (``money_test_mode``), so it needs no words."""
    if dry:
        return f"money returned: {WORDS}" if share == "all" else \
            "money returned: partly a dry run (some of it never moved)"
    return "money returned"


def check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InputError(f"{name}: expected one of {', '.join(allowed)}, found {value!r}",
                         code="invalid_parameter")


def reasons(engine: Engine, p: Period, by: str = "sku", reason: str | None = None,
            limit: int = 200, use_rollups: bool = True) -> Report:
    """Every key of ``by`` sold or returned in the period, with the period before beside it;
    sorted by units returned (for ``reason``: by units asked for that reason), then by key."""
    check_choice("by", by, DIMENSIONS)
    check_choice("reason", reason, REASONS)
    rows: dict[tuple[str, str], Row] = {}

    def row(key: Any, currency: str) -> Row:
        found = rows.get((str(key), currency))
        if found is None:
            found = rows[(str(key), currency)] = Row(str(key), currency)
        return found

    with rollups.reading(engine) as conn:
        share, test = dry_share(conn, p), stripe_test_share(conn, p)
        for s in _sold(conn, by, p, use_rollups):
            r = row(s.key, s.currency)
            r.name, r.sold, r.sales = str(s.name or s.key), int(s.units), int(s.money)
        for x in _returned(conn, by, p, use_rollups):
            r = row(x.key, x.currency)
            r.asked += int(x.asked)
            r.returned += int(x.returned)
            r.money_returned += int(x.money)
            r.money_kept += int(x.kept)
            r.money_test += int(x.test)
            r.reasons[x.reason] = r.reasons.get(x.reason, 0) + int(x.asked)
        before = p.before()
        for s in _sold(conn, by, before, use_rollups):
            if (str(s.key), s.currency) in rows:
                rows[(str(s.key), s.currency)].before_sold = int(s.units)
        for x in _returned(conn, by, before, use_rollups):
            if (str(x.key), x.currency) in rows:
                rows[(str(x.key), x.currency)].before_returned += int(x.returned)
    found = list(rows.values())
    if reason is not None:
        found = [r for r in found if r.reasons.get(reason)]
        found.sort(key=lambda r: (-r.reasons.get(reason, 0), r.key, r.currency))
    else:
        found.sort(key=lambda r: (-r.returned, -r.asked, r.key, r.currency))
    found = found[:limit]
    unnamed = {r.key for r in found if not r.name}
    if unnamed and by in ("sku", "product"):
        with engine.connect() as conn:
            names = _returned_names(conn, by, p, unnamed)
        for r in found:
            r.name = r.name or names.get(r.key, "")
    for r in found:
        r.name = r.name or r.key
    return Report(by, p, found, reason, share != "none", share, test)


def _returned_names(conn: Connection, by: str, p: Period, keys: set[str]) -> dict[str, str]:
    """The item names of keys that came back in the period without selling in it (their lines
    were sold earlier), from the returned lines' own order lines."""
    table, key, name = rollups.line_key(by)
    rl = return_lines.c
    query = (select(key, func.max(name))
             .select_from(return_lines.join(table, and_(table.c.order_id == rl.order_id,
                                                       table.c.line_id == rl.line_id)))
             .where(rl.at >= p.start, rl.at < p.end, key.in_(sorted(keys)))
             .group_by(key))
    return {str(k): str(n) for k, n in conn.execute(query) if n}


@dataclass(frozen=True)
class Comment:
    decision_id: str
    order_id: str
    decided_at: int  # epoch seconds
    reasons: str  # the reasons of its lines, comma-separated
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "order_id": self.order_id,
                "decided_at": self.decided_at, "reasons": self.reasons, "comment": self.text}


def comments(engine: Engine, p: Period, search: str = "", by: str = "sku",
             key: str | None = None, reason: str | None = None, limit: int = 100
             ) -> list[Comment]:
    """What customers wrote with their returns in the period, newest first: those containing
    ``search`` (any case), for one ``key`` of ``by`` and one ``reason`` when given."""
    check_choice("by", by, DIMENSIONS)
    check_choice("reason", reason, REASONS)
    f = return_figures.c
    query = (select(f.decision_id, decisions.c.order_id, f.at, f.comment)
             .select_from(return_figures.join(decisions, decisions.c.id == f.decision_id))
             .where(f.at >= p.start, f.at < p.end, f.comment.is_not(None)))
    if search.strip():
        needle = "%" + search.strip().lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        query = query.where(func.lower(f.comment).like(needle, escape="\\"))
    if key is not None or reason is not None:
        table, key_col, _ = rollups.line_key(by)
        on = and_(table.c.order_id == return_lines.c.order_id,
                  table.c.line_id == return_lines.c.line_id)
        match = select(literal(1)).select_from(return_lines.join(table, on)).where(
            return_lines.c.decision_id == f.decision_id)
        if table is order_line_labels:
            match = match.where(table.c.kind == by)
        if key is not None:
            match = match.where(key_col == key)
        if reason is not None:
            match = match.where(return_lines.c.reason == reason)
        query = query.where(match.exists())
    with engine.connect() as conn:
        found = list(conn.execute(query.order_by(f.at.desc(), f.decision_id).limit(limit)))
        ids = [c.decision_id for c in found]
        why: dict[str, set[str]] = {}
        if ids:
            for d, r in conn.execute(select(return_lines.c.decision_id, return_lines.c.reason)
                                     .where(return_lines.c.decision_id.in_(ids))):
                why.setdefault(d, set()).add(r)
    return [Comment(c.decision_id, c.order_id, int(c.at), ", ".join(sorted(why.get(
        c.decision_id, ()))), c.comment) for c in found]
