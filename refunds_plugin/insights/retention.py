"""Who comes back: of the customers whose return ended one way or another, and of customers
who never returned anything, the share who bought again within 30, 90 and 180 days, and what
they spent, each share with the count behind it.

A customer with a return in the period is counted once, by their first return decided in it,
from the moment it was decided. A customer with no return at all is counted from their first
order paid in the period. "Bought again within N days" is an order paid after that moment and
at most N days later; a customer is in a window's count (its n) only once N days have passed
since their moment, so a share is never diluted by customers who have not had the time yet.

Where the dry-run provider "paid" a return of the period, ``dry_run`` is true and the groups'
words say that no money moved ("refund decided: dry run (no money moved)").

This is an association, not a proof: customers whose return ended well may differ in other
ways from those whose return did not (what they bought, how often they buy).

The answer reads ``retention_rows`` (one row per possible anchor, with the time of the one
before it: an anchor of a period is one whose previous is before the period) for customers
whose rows are folded, and computes the same rows from the indexed ones for customers with a
mark not folded yet, in one statement (``ledger/rollups.py``); ``use_rollups=False`` computes
every customer's from the indexed rows as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal, or_, select, union_all

from refunds_plugin.insights.dryrun import NOTICES, TEST_NOTICES, dry_share, stripe_test_share
from refunds_plugin.insights.dryrun import WORDS as DRY
from refunds_plugin.insights.period import Period
from refunds_plugin.insights.reasons import rate_bp
from refunds_plugin.ledger import rollups
from refunds_plugin.ledger.line_index import DAY, epoch
from refunds_plugin.ledger.rollups import RETENTION, WINDOWS, ended, ending, retention_select
from refunds_plugin.ledger.tables import (
    customer_orders,
    insight_marks,
    retention_rows,
    return_figures,
)

__all__ = ["WINDOWS", "ENDINGS", "retention"]
# how a return ended, in the order the page shows them; "no_return" is the comparison group
ENDINGS = ("refund", "credit", "exchange", "kept", "declined", "no_return")
WORDS = {"refund": "refunded", "credit": "store credit", "exchange": "exchanged",
         "kept": "kept the item", "declined": "declined", "no_return": "no return"}
# in a dry-run shop the money of a refund or a credit never moved
DRY_WORDS = {"refund": f"refund decided: {DRY}", "credit": f"store credit decided: {DRY}"}
CAVEAT = ("An association, not a proof: customers whose return ended one way may differ in "
          "other ways from the others.")


@dataclass
class Group:
    ending: str
    customers: int = 0
    n: dict[int, int] = field(default_factory=dict)  # window -> customers old enough
    came_back: dict[int, int] = field(default_factory=dict)
    spent: dict[int, dict[str, int]] = field(default_factory=dict)  # window -> currency -> sum

    def to_json(self) -> dict[str, Any]:
        return {"ending": self.ending, "words": WORDS[self.ending], "customers": self.customers,
                "windows": [{"days": w, "n": self.n.get(w, 0),
                             "came_back": self.came_back.get(w, 0),
                             "share_bp": rate_bp(self.came_back.get(w, 0), self.n.get(w, 0)),
                             "spent": [{"currency": c, "amount": a}
                                       for c, a in sorted(self.spent.get(w, {}).items())]}
                            for w in WINDOWS]}


@dataclass(frozen=True)
class Retention:
    period: Period
    groups: list[Group]
    dry_run: bool = False
    dry_share: str = "none"  # all | some | none (``insights.dryrun.dry_share``)
    test_share: str = "none"  # Stripe's test mode, the same (``dryrun.stripe_test_share``)

    def to_json(self) -> dict[str, Any]:
        groups = [g.to_json() for g in self.groups]
        if self.dry_share == "all":  # some: the groups hold paid money too, the notice says so
            for g in groups:
                g["words"] = DRY_WORDS.get(g["ending"], g["words"])
        return {**self.period.to_json(), "caveat": CAVEAT, "dry_run": self.dry_run,
                "dry_run_share": self.dry_share, "dry_run_notice": NOTICES.get(self.dry_share),
                "test_mode_share": self.test_share,
                "test_mode_notice": TEST_NOTICES.get(self.test_share), "groups": groups}

    def rows(self) -> list[dict[str, Any]]:
        """Flat: one row per group and window (spending per currency joined in one cell)."""
        words = {**WORDS, **(DRY_WORDS if self.dry_share == "all" else {})}
        return [{"ending": g.ending, "words": words[g.ending], "customers": g.customers,
                 "days": w["days"], "n": w["n"], "came_back": w["came_back"],
                 "share_bp": w["share_bp"],
                 "spent": " ".join(f"{s['currency']}:{s['amount']}" for s in w["spent"])}
                for g in self.groups for w in g.to_json()["windows"]]


def _anchors(p: Period) -> Any:
    """(customer, at, ending): each customer's first return in the period, and the first order
    in the period of each customer who never returned anything."""
    f = return_figures.c
    ranked = (select(f.customer.label("customer"), f.at.label("at"), ending().label("ending"),
                     func.row_number().over(partition_by=f.customer,
                                            order_by=(f.at, f.decision_id)).label("n"))
              .select_from(ended(return_figures, f.decision_id))
              .where(f.at >= p.start, f.at < p.end, f.customer.is_not(None))
              .subquery("ranked"))
    returners = select(ranked.c.customer, ranked.c.at, ranked.c.ending).where(ranked.c.n == 1)
    o = customer_orders.c
    never = (select(o.customer, func.min(o.at), literal("no_return"))
             .where(o.at >= p.start, o.at < p.end, o.customer.is_not(None),
                    ~select(literal(1)).where(f.customer == o.customer).exists())
             .group_by(o.customer))
    return union_all(returners, never).subquery("anchors")


def _rolled(engine: Engine, p: Period, now: datetime) -> list[Group]:
    """The groups from ``retention_rows`` and, for customers with a mark, the same rows made
    from the indexed rows: one statement."""
    m = insight_marks.c
    marked = select(m.customer).where(m.customer.is_not(None))
    live = retention_select(lambda c: c.in_(marked)).subquery("live")
    stored = retention_rows.c

    def anchors(t: Any) -> list[Any]:
        return [t.at >= p.start, t.at < p.end, or_(t.prev_at.is_(None), t.prev_at < p.start)]

    u = union_all(
        select(*(stored[n] for n in RETENTION)).where(*anchors(stored),
                                                      stored.customer.not_in(marked)),
        select(*(live.c[n] for n in RETENTION)).where(*anchors(live.c))).subquery("anchors")
    today = epoch(now)
    sums: list[Any] = [func.sum(u.c.first)]
    for w in WINDOWS:
        old = and_(u.c.first == 1, u.c.at + w * DAY <= today)
        sums.append(func.sum(case((old, 1), else_=0)))
        sums.append(func.sum(case((and_(old, u.c.gap.is_not(None), u.c.gap <= w * DAY), 1),
                                  else_=0)))
        sums.append(func.sum(case((u.c.at + w * DAY <= today, u.c[f"spent{w}"]), else_=0)))
    groups = {e: Group(e) for e in ENDINGS}
    with rollups.reading(engine) as conn:
        found = conn.execute(select(u.c.ending, u.c.currency, *sums)
                             .group_by(u.c.ending, u.c.currency)).all()
    for row in found:
        g = groups.get(row[0])
        if g is None:  # "pending": a person has not decided yet
            continue
        g.customers += int(row[2] or 0)
        for i, w in enumerate(WINDOWS):
            n, back, spent = (int(v or 0) for v in row[3 + 3 * i:6 + 3 * i])
            g.n[w], g.came_back[w] = g.n.get(w, 0) + n, g.came_back.get(w, 0) + back
            if spent and row[1] is not None:
                g.spent.setdefault(w, {})[row[1]] = spent
    return [groups[e] for e in ENDINGS]


def retention(engine: Engine, p: Period, now: datetime, use_rollups: bool = True) -> Retention:
    found = Retention(p, _rolled(engine, p, now)) if use_rollups else _direct(engine, p, now)
    with engine.connect() as conn:
        share = dry_share(conn, p)
        return replace(found, dry_run=share != "none", dry_share=share,
                       test_share=stripe_test_share(conn, p))


def _direct(engine: Engine, p: Period, now: datetime) -> Retention:
    """Every customer's anchors from the indexed rows (what the rollups must equal)."""
    a = _anchors(p)
    later = customer_orders.alias("later")
    gap = later.c.at - a.c.at
    joined = a.outerjoin(later, and_(later.c.customer == a.c.customer, later.c.at > a.c.at,
                                     later.c.at <= a.c.at + WINDOWS[-1] * DAY))
    per_customer = (select(a.c.ending, a.c.at, func.min(gap).label("gap"))
                    .select_from(joined).group_by(a.c.customer, a.c.at, a.c.ending)
                    .subquery("per_customer"))
    today = epoch(now)
    pc = per_customer.c
    counts: list[Any] = [func.count()]
    for w in WINDOWS:
        old = pc.at + w * DAY <= today
        counts.append(func.sum(case((old, 1), else_=0)))
        counts.append(func.sum(case((and_(old, pc.gap.is_not(None), pc.gap <= w * DAY), 1),
                                    else_=0)))
    spend = [func.sum(case((and_(a.c.at + w * DAY <= today, gap <= w * DAY), later.c.total),
                           else_=0)) for w in WINDOWS]
    groups = {e: Group(e) for e in ENDINGS}
    with engine.connect() as conn:
        for row in conn.execute(select(pc.ending, *counts).group_by(pc.ending)):
            g = groups.get(row[0])
            if g is None:  # "pending": a person has not decided yet
                continue
            g.customers = int(row[1])
            for i, w in enumerate(WINDOWS):
                g.n[w], g.came_back[w] = int(row[2 + 2 * i] or 0), int(row[3 + 2 * i] or 0)
        spent_query = (select(a.c.ending, later.c.currency, *spend).select_from(
            a.join(later, and_(later.c.customer == a.c.customer, later.c.at > a.c.at,
                               later.c.at <= a.c.at + WINDOWS[-1] * DAY)))
            .group_by(a.c.ending, later.c.currency))
        for row in conn.execute(spent_query):
            g = groups.get(row[0])
            if g is None:
                continue
            for i, w in enumerate(WINDOWS):
                if int(row[2 + i] or 0):
                    g.spent.setdefault(w, {})[row[1]] = int(row[2 + i])
    return Retention(p, [groups[e] for e in ENDINGS])
