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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)

from refunds_plugin.ledger.line_index import DAY
from refunds_plugin.ledger.tables import (
    customer_orders,
    decisions,
    exchanges,
    insight_marks,
    money_days,
    order_line_labels,
    order_lines,
    payments,
    refund_attempts,
    return_figures,
    return_lines,
    returned_days,
    reviews,
    sold_days,
)

DIMENSIONS = ("sku", "product", "collection", "tag")
WINDOWS = (30, 90, 180)
# ``sold_days`` and ``returned_days`` also keep BLOCK-day sums (``width``): a 90-day period
# reads 11 rows per key instead of 90
BLOCK = 8


def granted() -> Any:
    """A return decision whose money was granted, as its latest word stands (in SQL what
    ``finance.rows.granted_by`` says): approved by a person, or approved by the policy and not
    declined by a person since (a review re-opened after the approval, then declined)."""
    rv = reviews.c
    return or_(rv.status == "approved",
               and_(decisions.c.outcome == "approve",
                    or_(rv.status.is_(None), rv.status != "declined")))


# a fallen-back exchange ends as the return decided in its place (``exchanges/fallback.py``)
_fb = decisions.alias("fallback")
_fb_review = reviews.alias("fallback_review")
_fb_figures = return_figures.alias("fallback_figures")
# an exchange's status as an ending: it went ahead, or it is not known yet (the difference not
# paid yet; failed, for a person)
WENT_AHEAD = ("waiting", "ready", "shipped")
NOT_YET = ("awaiting_payment", "failed")


def _plain_ending(d: Any, r: Any, f: Any) -> Any:
    return case(
        (or_(d.c.outcome == "decline", r.c.status == "declined"), "declined"),
        (and_(d.c.outcome == "review", or_(r.c.status.is_(None), r.c.status == "open")),
         "pending"),
        (f.c.kept > 0, "kept"),
        (func.coalesce(r.c.adjusted_resolution, d.c.resolution) == "credit", "credit"),
        else_="refund")


def ending() -> Any:
    """How a return decision ended (over ``ended(...)``); ``pending`` while that is not known
    yet: a person has not decided, or its exchange waits for the difference or for a person
    (``failed``). An exchange that went ahead (paid, or nothing to pay) is ``exchange``, whatever
    else the return refunded; one that fell back ends as the return decided in its place."""
    x = exchanges.c
    plain = _plain_ending(decisions, reviews, return_figures)
    return case(
        (or_(decisions.c.outcome == "decline", reviews.c.status == "declined"), "declined"),
        (and_(decisions.c.outcome == "review",
              or_(reviews.c.status.is_(None), reviews.c.status == "open")), "pending"),
        (x.status.in_(WENT_AHEAD), "exchange"),
        (x.status.in_(NOT_YET), "pending"),
        (and_(x.status == "fallen_back", _fb.c.id.is_(None)), "pending"),
        (x.status == "fallen_back", _plain_ending(_fb, _fb_review, _fb_figures)),
        else_=plain)


def _reviewed(table: Any, decision_id: Any) -> Any:
    return (table.join(decisions, decisions.c.id == decision_id)
            .outerjoin(reviews, reviews.c.decision_id == decision_id))


def ended(table: Any, decision_id: Any) -> Any:
    """``table`` joined to what ``ending()`` reads: the decision, its review, its exchange and
    the return decided in a fallen-back exchange's place."""
    fb = exchanges.c.fallback_decision_id
    return (_reviewed(table, decision_id)
            .outerjoin(exchanges, exchanges.c.decision_id == decision_id)
            .outerjoin(_fb, _fb.c.id == fb)
            .outerjoin(_fb_review, _fb_review.c.decision_id == fb)
            .outerjoin(_fb_figures, _fb_figures.c.decision_id == fb))


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


def in_test_mode(decision_id: Any) -> Any:
    """A return decision whose money Stripe paid in its test mode (a test key: a succeeded
    attempt's ``livemode`` is false): no real money moved. An attempt whose mode is not known
    (before revision 0025) is no test mode, as in the costs. Indexed: ``(decision_id, seq)``."""
    a = refund_attempts.c
    return (select(literal(1)).where(a.decision_id == decision_id, a.status == "succeeded",
                                     a.livemode.is_(False)).exists())


def returned_rows(by: str) -> Rows:
    """(key, currency, reason, granted, kept, units, money, test_money) of every line asked
    back; an exchanged line's value is no money returned (0): its unit came back for another
    item. ``test_money``: the line's value again when Stripe paid its return in its test mode
    (``in_test_mode``), else 0; the readers take it out of the money returned."""
    table, key, _ = line_key(by)
    rl = return_lines.c
    on = and_(table.c.order_id == rl.order_id, table.c.line_id == rl.line_id)
    if table is order_line_labels:
        on = and_(on, table.c.kind == by)
    money = case((rl.exchanged == 1, 0), else_=rl.amount)
    query = (select(key.label("key"), table.c.currency.label("currency"), rl.reason,
                    case((granted(), 1), else_=0).label("granted"), rl.kept,
                    rl.quantity.label("units"), money.label("money"),
                    case((in_test_mode(rl.decision_id), money), else_=0).label("test_money"))
             .select_from(_reviewed(return_lines.join(table, on), rl.decision_id)))
    return Rows(query, rl.at)


def paid_in_test_mode_only(order_id: Any) -> Any:
    """An order whose payments Stripe all took in its test mode (their ``livemode`` false): no
    real money was taken, so it is no sale (as ``finance.summary`` says). A failed payment
    took nothing; one whose mode is not known (a storefront's, Saleor's) counts as live.
    Indexed: ``payments.order_id``."""
    p = payments.c
    held = and_(p.order_id == order_id, p.status != "failed")
    return and_(select(literal(1)).where(held, p.livemode.is_(False)).exists(),
                ~select(literal(1)).where(held, or_(p.livemode.is_(None),
                                                    p.livemode.is_(True))).exists())


def money_rows() -> list[Rows]:
    """(term, currency, amount): sales by payment time (not an order paid only in Stripe's
    test mode); fees and kept value of granted returns by decision time."""
    c, f = customer_orders.c, return_figures.c
    out = [Rows(select(literal("sales", String).label("term"), c.currency,
                       c.total.label("amount")).where(~paid_in_test_mode_only(c.order_id)),
                c.at)]
    for term, column in (("fees", f.fees), ("kept", f.kept)):
        out.append(Rows(select(literal(term, String).label("term"), f.currency,
                               column.label("amount"))
                        .select_from(_reviewed(return_figures, f.decision_id))
                        .where(granted()), f.at))
    return out


# --- reading a period exactly -----------------------------------------------------------------

@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for an insight's statements; on PostgreSQL without JIT for them: the
    planner cannot estimate a range join on the marked days, the estimate crosses
    ``jit_above_cost``, and compiling took longer than running (~100 ms of a 200 ms answer)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL jit = off"))
        yield conn


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
RETURNED = ("key", "currency", "reason", "granted", "kept", "units", "money", "test_money")
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
               .select_from(ended(return_figures, f.decision_id))
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
