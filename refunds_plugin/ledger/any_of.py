"""``column IN (subquery)`` that PostgreSQL cannot turn into a nested loop over two scans.

A customer's history joins their orders (by customer id or email) to payments and decisions by
``order_id``. Written as ``order_id IN (SELECT …)``, PostgreSQL plans it from the tables'
statistics; on a young database, before autovacuum first analyses the tables, an equality on an
unanalysed column is guessed to match 0.5% of the rows, so the planner took the payments as one
row and scanned every order once for each payment: 7.6 ms a request at 1,000 orders, growing
with the square of the shop (``bench/README.md``, "The customer's history on a young database").

``any_of(column, subquery)`` renders ``column = ANY(ARRAY(subquery))`` on PostgreSQL: the
subquery runs once, as an init plan, and the outer table is read once, through its index or
not, whatever the statistics say. Other databases get ``column IN (subquery)``, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, ScalarSelect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal


class AnyOf(ColumnElement[bool]):
    """``column`` is one of the values ``subquery`` returns (see the module's docstring)."""

    type = Boolean()
    # the children, for traversal and the statement cache's key (so it is compiled once)
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition: no "= 1" after it where booleans are ints

    def __init__(self, column: ColumnElement[Any], subquery: ScalarSelect[Any]) -> None:
        self.column = column
        self.subquery = subquery


def any_of(column: ColumnElement[Any], subquery: ScalarSelect[Any]) -> AnyOf:
    return AnyOf(column, subquery)


@compiles(AnyOf)
def _in(element: AnyOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(AnyOf, "postgresql")
def _any_array(element: AnyOf, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    inner = compiler.process(element.subquery.element, asfrom=False, **kw)
    return f"{column} = ANY(ARRAY({inner}))"
