"""The insights' rollups built from the indexed rows, as revision 0018 built them: frozen.

``ledger/fold.py``'s ``build`` and the ``ledger/rollups.py`` definitions under it, copied as they
were at revision 0018 (exchanged lines are no money returned; a return is granted when the
policy or a person approved it), over the tables as they stood then. Revisions 0017 and 0018
build with this, so a later change to the app's rollups (0026 changed ``granted``, and marks the
days it changes for the folder) or to its tables cannot change what upgrading an old ledger
does. Not an Alembic revision (it lives beside ``env.py``, not in ``versions/``) and never
edited: a revision that needs other definitions freezes its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)

DAY = 86_400  # a rollup's day is ``at // DAY`` (UTC)
DIMENSIONS = ("sku", "product", "collection", "tag")
WINDOWS = (30, 90, 180)
BLOCK = 8  # ``sold_days`` and ``returned_days`` also keep BLOCK-day sums (``width``)
SOLD = ("key", "currency", "name", "units", "money")
RETURNED = ("key", "currency", "reason", "granted", "kept", "units", "money")
RETENTION = ("customer", "ref", "at", "prev_at", "ending", "first", "gap", "currency",
             *(f"spent{w}" for w in WINDOWS))

# --- the tables at revision 0018: the columns read and written here, with their types --------
meta = MetaData()
decisions = Table("decisions", meta, Column("id", String(36)), Column("outcome", String(16)),
                  Column("resolution", String(32)))
reviews = Table("reviews", meta, Column("decision_id", String(36)), Column("status", String(16)),
                Column("adjusted_resolution", String(32)))
exchanges = Table("exchanges", meta, Column("decision_id", String(36)),
                  Column("status", String(20)), Column("fallback_decision_id", String(36)))
order_lines = Table("order_lines", meta, Column("order_id", String(255)),
                    Column("line_id", String(255)), Column("sku", String(255)),
                    Column("product_id", String(255)), Column("name", String(255)),
                    Column("currency", String(3)), Column("quantity", Integer),
                    Column("amount", BigInteger), Column("at", BigInteger))
order_line_labels = Table("order_line_labels", meta, Column("order_id", String(255)),
                          Column("line_id", String(255)), Column("kind", String(16)),
                          Column("label", String(255)), Column("currency", String(3)),
                          Column("quantity", Integer), Column("amount", BigInteger),
                          Column("at", BigInteger))
customer_orders = Table("customer_orders", meta, Column("order_id", String(255)),
                        Column("customer", String(320)), Column("currency", String(3)),
                        Column("total", BigInteger), Column("at", BigInteger))
return_lines = Table("return_lines", meta, Column("decision_id", String(36)),
                     Column("line_id", String(255)), Column("order_id", String(255)),
                     Column("quantity", Integer), Column("reason", String(32)),
                     Column("amount", BigInteger), Column("kept", Integer),
                     Column("at", BigInteger), Column("exchanged", Integer))
return_figures = Table("return_figures", meta, Column("decision_id", String(36)),
                       Column("customer", String(320)), Column("currency", String(3)),
                       Column("fees", BigInteger), Column("bonus", BigInteger),
                       Column("kept", BigInteger), Column("at", BigInteger))
insight_marks = Table("insight_marks", meta, Column("id", BigInteger), Column("day", Integer),
                      Column("customer", String(320)))
sold_days = Table("sold_days", meta, Column("dimension", String(16)), Column("width", Integer),
                  Column("day", Integer), Column("key", String(255)),
                  Column("currency", String(3)), Column("name", String(255)),
                  Column("units", BigInteger), Column("money", BigInteger))
returned_days = Table("returned_days", meta, Column("dimension", String(16)),
                      Column("width", Integer), Column("day", Integer),
                      Column("key", String(255)), Column("currency", String(3)),
                      Column("reason", String(32)), Column("granted", Integer),
                      Column("kept", Integer), Column("units", BigInteger),
                      Column("money", BigInteger))
money_days = Table("money_days", meta, Column("term", String(16)), Column("day", Integer),
                   Column("currency", String(3)), Column("amount", BigInteger))
retention_rows = Table("retention_rows", meta, Column("id", BigInteger),
                       Column("customer", String(320)), Column("ref", String(255)),
                       Column("at", BigInteger), Column("prev_at", BigInteger),
                       Column("ending", String(16)), Column("first", Integer),
                       Column("gap", BigInteger), Column("currency", String(3)),
                       Column("spent30", BigInteger), Column("spent90", BigInteger),
                       Column("spent180", BigInteger))


# --- how a return ended and whether it was granted (``rollups.py`` at 0018) ------------------

def granted() -> Any:
    """A return decision whose money was granted: approved, or approved by a person."""
    return or_(decisions.c.outcome == "approve", reviews.c.status == "approved")


_fb = decisions.alias("fallback")
_fb_review = reviews.alias("fallback_review")
_fb_figures = return_figures.alias("fallback_figures")
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
    if by == "sku":
        return order_lines, order_lines.c.sku, order_lines.c.name
    if by == "product":
        return (order_lines, func.coalesce(order_lines.c.product_id, order_lines.c.sku),
                order_lines.c.name)
    return order_line_labels, order_line_labels.c.label, order_line_labels.c.label


def sold_rows(by: str) -> Rows:
    table, key, name = line_key(by)
    t = table.c
    query = select(key.label("key"), t.currency.label("currency"), name.label("name"),
                   t.quantity.label("units"), t.amount.label("money"))
    if table is order_line_labels:
        query = query.where(t.kind == by)
    return Rows(query, t.at)


def returned_rows(by: str) -> Rows:
    table, key, _ = line_key(by)
    rl = return_lines.c
    on = and_(table.c.order_id == rl.order_id, table.c.line_id == rl.line_id)
    if table is order_line_labels:
        on = and_(on, table.c.kind == by)
    query = (select(key.label("key"), table.c.currency.label("currency"), rl.reason,
                    case((granted(), 1), else_=0).label("granted"), rl.kept,
                    rl.quantity.label("units"),
                    case((rl.exchanged == 1, 0), else_=rl.amount).label("money"))
             .select_from(_reviewed(return_lines.join(table, on), rl.decision_id)))
    return Rows(query, rl.at)


def money_rows() -> list[Rows]:
    c, f = customer_orders.c, return_figures.c
    out = [Rows(select(literal("sales", String).label("term"), c.currency,
                       c.total.label("amount")), c.at)]
    for term, column in (("fees", f.fees), ("kept", f.kept)):
        out.append(Rows(select(literal(term, String).label("term"), f.currency,
                               column.label("amount"))
                        .select_from(_reviewed(return_figures, f.decision_id))
                        .where(granted()), f.at))
    return out


def retention_select(pick: Callable[[Any], Any] | None = None) -> Select[Any]:
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


# --- building (``fold.py`` at 0018) -----------------------------------------------------------

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
    """The BLOCK-day rows of the blocks whose first day ``where(day column)`` keeps."""
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


def build(conn: Connection) -> None:
    """Every rollup row from the indexed rows, marks dropped. Set-based: a few statements
    whatever the history."""
    for table in (sold_days, returned_days, money_days, retention_rows, insight_marks):
        conn.execute(delete(table))
    _insert_days(conn, lambda at: at >= 0)
    _insert_blocks(conn, lambda day: day >= 0)
    conn.execute(insert(retention_rows).from_select(list(RETENTION), retention_select()))

