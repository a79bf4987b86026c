"""The insights' rollups: sums per UTC day (units and money sold, asked back and returned, sales,
fees and kept value) and one row per possible retention anchor, so an insight reads rows per
day and key, not per order line.

Writers never update a rollup row: a write that changes what the insights read appends a mark
(``line_index.py``: the day and customer it touched; insert-only, no key shared between
writers). ``fold`` (one at a time: an advisory lock on PostgreSQL, the write lock on SQLite)
recomputes the marked days' and customers' rollup rows from the indexed rows and deletes the
marks it read, by id, in one transaction, out of the request path. A reader takes the rollups
of unmarked days (customers) and the indexed rows of the marked ones and of a period's partial
edge days, in one statement: the answer is exact whatever the fold's lag. Why marks and not
deltas, and the figures: ``docs/insights.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.line_index import DAY
from refunds_plugin.ledger.tables import (
    customer_orders,
    decisions,
    insight_marks,
    money_days,
    order_line_labels,
    order_lines,
    retention_rows,
    return_figures,
    return_lines,
    returned_days,
    reviews,
    sold_days,
)

log = logging.getLogger("refunds.insights")
DIMENSIONS = ("sku", "product", "collection", "tag")
WINDOWS = (30, 90, 180)
FOLD_KEY = 0x52_46_52_55  # "RFRU": the folder's advisory lock (never taken by a request)
ROUND = 5_000  # marks folded per transaction
CHUNK = 200  # days or customers per statement
# ``sold_days`` and ``returned_days`` also keep BLOCK-day sums (``width``): a 90-day period
# reads 11 rows per key instead of 90
BLOCK = 8


def granted() -> Any:
    """A return decision whose money was granted: approved, or approved by a person."""
    return or_(decisions.c.outcome == "approve", reviews.c.status == "approved")


def ending() -> Any:
    """How a return decision ended; ``pending`` while a person has not decided it. Exchanges
    are not recorded yet (issue 16): the group stays empty until they are."""
    f = return_figures.c
    return case(
        (or_(decisions.c.outcome == "decline", reviews.c.status == "declined"), "declined"),
        (and_(decisions.c.outcome == "review",
              or_(reviews.c.status.is_(None), reviews.c.status == "open")), "pending"),
        (f.kept > 0, "kept"),
        (func.coalesce(reviews.c.adjusted_resolution, decisions.c.resolution) == "credit",
         "credit"),
        else_="refund")


def _reviewed(table: Any, decision_id: Any) -> Any:
    return (table.join(decisions, decisions.c.id == decision_id)
            .outerjoin(reviews, reviews.c.decision_id == decision_id))


# --- the indexed rows each rollup sums, with the time that places them in a day ---------------

@dataclass(frozen=True)
class Rows:
    query: Select[Any]  # the rollup's columns, without its day
    at: Any


def line_key(by: str) -> tuple[Any, Any, Any]:
    """(table, key, name) of a dimension's sold lines."""
    if by == "sku":
        return order_lines, order_lines.c.sku, order_lines.c.name
    if by == "product":
        return (order_lines, func.coalesce(order_lines.c.product_id, order_lines.c.sku),
                order_lines.c.name)
    return order_line_labels, order_line_labels.c.label, order_line_labels.c.label


def sold_rows(by: str) -> Rows:
    """(key, currency, name, units, money) of every line sold, for one dimension."""
    table, key, name = line_key(by)
    t = table.c
    query = select(key.label("key"), t.currency.label("currency"), name.label("name"),
                   t.quantity.label("units"), t.amount.label("money"))
    if table is order_line_labels:
        query = query.where(t.kind == by)
    return Rows(query, t.at)


def returned_rows(by: str) -> Rows:
    """(key, currency, reason, granted, kept, units, money) of every line asked back."""
    table, key, _ = line_key(by)
    rl = return_lines.c
    on = and_(table.c.order_id == rl.order_id, table.c.line_id == rl.line_id)
    if table is order_line_labels:
        on = and_(on, table.c.kind == by)
    query = (select(key.label("key"), table.c.currency.label("currency"), rl.reason,
                    case((granted(), 1), else_=0).label("granted"), rl.kept,
                    rl.quantity.label("units"), rl.amount.label("money"))
             .select_from(_reviewed(return_lines.join(table, on), rl.decision_id)))
    return Rows(query, rl.at)


def money_rows() -> list[Rows]:
    """(term, currency, amount): sales by payment time; fees and kept value of granted
    returns by decision time."""
    c, f = customer_orders.c, return_figures.c
    out = [Rows(select(literal("sales", String).label("term"), c.currency,
                       c.total.label("amount")), c.at)]
    for term, column in (("fees", f.fees), ("kept", f.kept)):
        out.append(Rows(select(literal(term, String).label("term"), f.currency,
                               column.label("amount"))
                        .select_from(_reviewed(return_figures, f.decision_id))
                        .where(granted()), f.at))
    return out


# --- reading a period exactly -----------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """How a period [start, end) is read: whole days ``days`` from the rollups (the marked ones
    from the indexed rows), the partial days at its ``edges`` from the indexed rows."""
    edges: tuple[tuple[int, int], ...]
    days: tuple[int, int] | None


def span(start: int, end: int, rollups: bool = True) -> Span:
    """``rollups=False`` reads only the indexed rows (what the tests compare against)."""
    first, last = -(-max(start, 0) // DAY), end // DAY
    if not rollups or last <= first:
        return Span(((start, end),), None)
    edges = tuple((lo, hi) for lo, hi in ((start, first * DAY), (last * DAY, end)) if lo < hi)
    return Span(edges, (first, last))


def _marked_days(first: int, last: int) -> Any:
    m = insight_marks.c
    return select(m.day.label("day")).where(m.day >= first, m.day < last).distinct().subquery()


def _unfolded(rows: Rows, s: Span) -> list[Select[Any]]:
    parts = [rows.query.where(rows.at >= lo, rows.at < hi) for lo, hi in s.edges]
    if s.days is not None:
        marked = _marked_days(*s.days)
        start = cast(marked.c.day, BigInteger) * DAY
        parts.append(rows.query.join(marked, and_(rows.at >= start, rows.at < start + DAY)))
    return parts


def _folded(table: Any, columns: Sequence[str], s: Span, *where: Any) -> list[Select[Any]]:
    """The rollup rows of the span's unmarked days: for ``sold_days`` and ``returned_days``,
    the rows of whole ``BLOCK``-day blocks without a mark, and day rows for the rest."""
    if s.days is None:
        return []
    first, last = s.days
    m = insight_marks.c
    t = table.c
    marked = select(m.day).where(m.day.is_not(None))

    def rows(*more: Any, base: Any = None) -> Select[Any]:
        query = select(*(t[n] for n in columns))
        if base is not None:
            query = query.select_from(base)
        return query.where(*where, *more)

    if "width" not in t:
        return [rows(t.day >= first, t.day < last, t.day.not_in(marked))]
    lo, hi = -(-first // BLOCK) * BLOCK, last // BLOCK * BLOCK
    if hi <= lo:
        return [rows(t.width == 1, t.day >= first, t.day < last, t.day.not_in(marked))]
    blocks = select((m.day // BLOCK * BLOCK).label("day")).where(m.day >= lo, m.day < hi) \
        .distinct().subquery()
    day = and_(t.width == 1, t.day.not_in(marked))
    return [rows(t.width == BLOCK, t.day >= lo, t.day < hi, t.day.not_in(select(blocks.c.day))),
            rows(day, t.day >= first, t.day < lo), rows(day, t.day >= hi, t.day < last),
            # the unmarked days of blocks with a mark
            rows(day, base=table.join(blocks, and_(t.day >= blocks.c.day,
                                                   t.day < blocks.c.day + BLOCK)))]


SOLD = ("key", "currency", "name", "units", "money")
RETURNED = ("key", "currency", "reason", "granted", "kept", "units", "money")
MONEY = ("term", "currency", "amount")


def sold(by: str, s: Span) -> Any:
    """A subquery of ``SOLD`` rows whose sums per key and currency are the period's sales."""
    parts = _folded(sold_days, SOLD, s, sold_days.c.dimension == by) + \
        _unfolded(sold_rows(by), s)
    return union_all(*parts).subquery("sold")


def returned(by: str, s: Span) -> Any:
    """A subquery of ``RETURNED`` rows: the period's returns, summed per key as they stand."""
    parts = _folded(returned_days, RETURNED, s, returned_days.c.dimension == by) + \
        _unfolded(returned_rows(by), s)
    return union_all(*parts).subquery("returned")


def money(s: Span) -> Any:
    """A subquery of ``MONEY`` rows: the period's sales, fees and kept value per currency."""
    parts = _folded(money_days, MONEY, s)
    for rows in money_rows():
        parts += _unfolded(rows, s)
    return union_all(*parts).subquery("money")


# --- retention: one row per anchor and currency spent after it --------------------------------

RETENTION = ("customer", "ref", "at", "prev_at", "ending", "first", "gap", "currency",
             *(f"spent{w}" for w in WINDOWS))


def retention_select(pick: Callable[[Any], Any] | None = None) -> Select[Any]:
    """``RETENTION`` rows of the customers ``pick(customer column)`` chooses (all: None):
    their return decisions and, for customers who never returned anything, their orders, each
    with the previous one's time and what the customer bought within 180 days after it."""
    f, o = return_figures.c, customer_orders.c
    chosen: Callable[[Any], tuple[Any, ...]] = (lambda c: ()) if pick is None else (
        lambda c: (pick(c),))
    returns = (select(f.customer.label("customer"), f.decision_id.label("ref"), f.at.label("at"),
                      func.lag(f.at).over(partition_by=f.customer,
                                          order_by=(f.at, f.decision_id)).label("prev_at"),
                      ending().label("ending"))
               .select_from(_reviewed(return_figures, f.decision_id))
               .where(f.customer.is_not(None), *chosen(f.customer)))
    other = return_figures.alias("any_return")
    orders = (select(o.customer, o.order_id, o.at,
                     func.lag(o.at).over(partition_by=o.customer, order_by=(o.at, o.order_id)),
                     literal("no_return", String))
              .where(o.customer.is_not(None), *chosen(o.customer),
                     ~select(literal(1)).where(other.c.customer == o.customer).exists()))
    a = union_all(returns, orders).subquery("anchors")
    later_orders = customer_orders.alias("later")
    later = later_orders.c
    gap = later.at - a.c.at
    anchor = (a.c.ending, a.c.ref)
    return (select(a.c.customer, a.c.ref, a.c.at, a.c.prev_at, a.c.ending,
                   case((func.row_number().over(partition_by=anchor,
                                                order_by=later.currency) == 1, 1),
                        else_=0).label("first"),
                   func.min(func.min(gap)).over(partition_by=anchor).label("gap"),
                   later.currency,
                   *(func.coalesce(func.sum(case((gap <= w * DAY, later.total), else_=0)), 0)
                     .label(f"spent{w}") for w in WINDOWS))
            .select_from(a.outerjoin(later_orders, and_(
                later.customer == a.c.customer, later.at > a.c.at,
                later.at <= a.c.at + WINDOWS[-1] * DAY)))
            .group_by(a.c.customer, a.c.ref, a.c.at, a.c.prev_at, a.c.ending, later.currency))


# --- folding ---------------------------------------------------------------------------------

def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _insert_days(conn: Connection, where: Callable[[Any], Any]) -> None:
    """The rollup rows of the indexed rows ``where(time column)`` keeps, summed per day."""
    for by in DIMENSIONS:
        r = sold_rows(by)
        s = r.query.add_columns((r.at // DAY).label("day")).where(where(r.at)).subquery()
        conn.execute(insert(sold_days).from_select(
            ["dimension", "width", "day", *SOLD],
            select(literal(by, String), literal(1), s.c.day, s.c.key, s.c.currency,
                   func.max(s.c.name), func.sum(s.c.units), func.sum(s.c.money))
            .group_by(s.c.day, s.c.key, s.c.currency)))
        r = returned_rows(by)
        s = r.query.add_columns((r.at // DAY).label("day")).where(where(r.at)).subquery()
        keys = (s.c.day, s.c.key, s.c.currency, s.c.reason, s.c.granted, s.c.kept)
        conn.execute(insert(returned_days).from_select(
            ["dimension", "width", "day", *RETURNED[:5], "units", "money"],
            select(literal(by, String), literal(1), *keys, func.sum(s.c.units),
                   func.sum(s.c.money))
            .group_by(*keys)))
    parts = [r.query.add_columns((r.at // DAY).label("day")).where(where(r.at))
             for r in money_rows()]
    m = union_all(*parts).subquery()
    conn.execute(insert(money_days).from_select(
        ["term", "currency", "amount", "day"],
        select(m.c.term, m.c.currency, func.sum(m.c.amount), m.c.day)
        .group_by(m.c.term, m.c.day, m.c.currency)))


def _insert_blocks(conn: Connection, where: Callable[[Any], Any]) -> None:
    """The BLOCK-day rows of the blocks whose first day ``where(day column)`` keeps, from the
    day rows."""
    for table, sums in ((sold_days, ("units", "money")), (returned_days, ("units", "money"))):
        t = table.c
        block = (t.day // BLOCK * BLOCK).label("day")
        keys = [t.dimension, t.key, t.currency, *(t[n] for n in ("reason", "granted", "kept")
                                                   if n in t)]
        extra = [func.max(t.name)] if table is sold_days else []
        conn.execute(insert(table).from_select(
            ["width", "day", *(k.name for k in keys), *(["name"] if extra else []), *sums],
            select(literal(BLOCK), block, *keys, *extra, *(func.sum(t[n]) for n in sums))
            .where(t.width == 1, where(block)).group_by(block, *keys)))


def refold_days(conn: Connection, days: Sequence[int]) -> None:
    """Recompute the rollup rows of ``days`` (and of their blocks) from the indexed rows."""
    for table in (sold_days, returned_days, money_days):
        conn.execute(delete(table).where(table.c.day.in_(days)))
    _insert_days(conn, lambda at: or_(*(and_(at >= d * DAY, at < (d + 1) * DAY)
                                        for d in days)))
    blocks = sorted({d // BLOCK * BLOCK for d in days})
    for table in (sold_days, returned_days):
        conn.execute(delete(table).where(table.c.width == BLOCK, table.c.day.in_(blocks)))
    _insert_blocks(conn, lambda day: day.in_(blocks))


def refold_customers(conn: Connection, customers: Sequence[str]) -> None:
    """Recompute the retention rows of ``customers``."""
    conn.execute(delete(retention_rows).where(retention_rows.c.customer.in_(customers)))
    conn.execute(insert(retention_rows).from_select(
        list(RETENTION), retention_select(lambda c: c.in_(customers))))


def build(conn: Connection) -> None:
    """Every rollup row from the indexed rows, marks dropped (migration 0017; a bench that
    loaded the indexed rows directly). Set-based: a few statements whatever the history."""
    for table in (sold_days, returned_days, money_days, retention_rows, insight_marks):
        conn.execute(delete(table))
    _insert_days(conn, lambda at: at >= 0)
    _insert_blocks(conn, lambda day: day >= 0)
    conn.execute(insert(retention_rows).from_select(list(RETENTION), retention_select()))


def fold(engine: Engine, limit: int = ROUND) -> int:
    """Fold up to ``limit`` marks (oldest first) in one transaction; how many were folded (0
    when another process is folding)."""
    m = insight_marks.c
    with write_tx(engine) as conn:
        if conn.dialect.name == "postgresql" and not conn.execute(
                select(func.pg_try_advisory_xact_lock(FOLD_KEY))).scalar_one():
            return 0
        marks = conn.execute(select(m.id, m.day, m.customer).order_by(m.id).limit(limit)).all()
        days = sorted({d for _, d, _ in marks if d is not None and d >= 0})
        customers = sorted({c for _, _, c in marks if c is not None})
        for chunk in _chunks(days):
            refold_days(conn, chunk)
        for chunk in _chunks(customers):
            refold_customers(conn, chunk)
        # by id, never "up to": a mark committed after they were read stays for the next round
        for chunk in _chunks([i for i, _, _ in marks], 1_000):
            conn.execute(delete(insight_marks).where(m.id.in_(chunk)))
    return len(marks)


class Folder:
    """``fold`` from the executor's loop, at most once every ``every_s`` seconds, until no
    mark is left; errors are logged (the next round tries again)."""

    def __init__(self, engine: Engine, every_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.every_s, self.clock = engine, every_s, clock
        self._next = 0.0

    def run_once(self) -> int:
        if self.clock() < self._next:
            return 0
        self._next = self.clock() + self.every_s
        try:
            return fold(self.engine)
        except SQLAlchemyError:
            log.exception("insights fold failed")
            return 0
