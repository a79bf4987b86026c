"""The insights' tables: sold and returned lines, customers' orders, figures, feedback."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from refunds_plugin.ledger.tables.base import Id, metadata
from refunds_plugin.ledger.tables.core import decisions

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("sku", String(255), nullable=False),
    Column("product_id", String(255), nullable=True),
    Column("name", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_order_lines_at", "at"),
)

# One row per collection or tag of an order line (kind "collection" | "tag"), with the line's
# units and money repeated, so a GROUP BY label needs no join.
order_line_labels = Table(
    "order_line_labels",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("label", String(255), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_order_line_labels_kind_at", "kind", "at"),
)

# One row per order with its total, when it was paid and who paid (lower-cased email, else
# ``id:`` and the customer id; NULL when neither is known): sales by payment time, and "who bought
# again within N days".
customer_orders = Table(
    "customer_orders",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("customer", String(320), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_customer_orders_customer_at", "customer", "at"),
    Index("ix_customer_orders_at", "at"),
)

# A return decision's lines as the customer asked (units and reason) with the value the policy
# gave each (0 when declined) and whether the item stays with the customer.
return_lines = Table(
    "return_lines",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kept", Integer, nullable=False),  # 1: the item stays with the customer
    Column("at", BigInteger, nullable=False),  # the decision's time, epoch seconds
    # 1: the line is swapped for another item (its value is no money returned; migration 0018)
    Column("exchanged", Integer, nullable=False, server_default="0"),
    Index("ix_return_lines_at", "at"),
)

# A return decision's figures that are otherwise only in its JSON body: the fees it charged,
# the store-credit bonus, the value kept, the customer's comment, and who asked.
return_figures = Table(
    "return_figures",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("customer", String(320), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("bonus", BigInteger, nullable=False),
    Column("kept", BigInteger, nullable=False),
    Column("comment", Text, nullable=True),
    Column("at", BigInteger, nullable=False),
    Index("ix_return_figures_at", "at"),
    Index("ix_return_figures_customer", "customer"),
)

# "How did we do?": one answer per decision (1-5, optional comment), replaced while its window
# lasts. Written only by ``insights/feedback.py``.
feedback = Table(
    "feedback",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=True),
    Column("changes", Integer, nullable=False, default=0),
)

# ``policy simulate`` and ``policy compare`` stream the return decisions in (created_at, id)
# order: with this index PostgreSQL reads them in order instead of sorting every stored fact.
Index("ix_decisions_created_at_id", decisions.c.created_at, decisions.c.id)

# --- rollups (migration 0017, ``ledger/rollups.py``) -----------------------------------------
# A write that changes what the insights read appends a mark (the UTC day of the rows it changed
# and the customer): insert-only, no key shared between writers. The folder recomputes the
# marked days' and customers' rollup rows from the rows above and deletes the marks it read,
# in one transaction; a reader takes rollup rows for unmarked days and customers and the rows
# above for the marked ones, in one statement, so an answer is exact whatever the fold's lag.
insight_marks = Table(
    "insight_marks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("day", Integer, nullable=True),  # epoch seconds // 86400
    Column("customer", String(320), nullable=True),
    # what the readers look up: the marked days of a period, the marked customers (0018)
    Index("ix_insight_marks_day", "day"),
    Index("ix_insight_marks_customer", "customer"),
)

# units and money sold per day (and per 8 days), dimension (sku | product | collection | tag),
# key and currency
sold_days = Table(
    "sold_days",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("width", Integer, primary_key=True),  # 1: a day; 8: the 8 days from ``day`` on
    Column("day", Integer, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("name", String(255), nullable=False),  # the greatest name of the day's lines
    Column("units", BigInteger, nullable=False),
    Column("money", BigInteger, nullable=False),
)

# units asked back and their value per decision day, dimension, key, currency, reason, and
# whether the return was granted (as the reviews stand at the fold) and the item kept; of that
# value, ``test_money`` is what Stripe paid in its test mode (no real money: migration 0032)
returned_days = Table(
    "returned_days",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("width", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("granted", Integer, primary_key=True),
    Column("kept", Integer, primary_key=True),
    Column("units", BigInteger, nullable=False),
    Column("money", BigInteger, nullable=False),
    Column("test_money", BigInteger, nullable=False, server_default="0"),
)

# money per day, term (sales: order totals by payment time; fees and kept: of granted returns
# by decision time) and currency
money_days = Table(
    "money_days",
    metadata,
    Column("term", String(16), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

# "Who comes back", one row per possible anchor and currency of what the customer bought next:
# each return decision of a customer, and each order of a customer who never returned anything,
# with the time of the customer's previous one (an anchor of a period is one whose previous is
# before the period), how the return ended, the seconds to the next order (on the row whose
# ``first`` is 1) and the money spent within 30 / 90 / 180 days in ``currency`` (NULL: none).
retention_rows = Table(
    "retention_rows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer", String(320), nullable=False),
    Column("ref", String(255), nullable=False),  # the order or decision id
    Column("at", BigInteger, nullable=False),
    Column("prev_at", BigInteger, nullable=True),
    Column("ending", String(16), nullable=False),
    Column("first", Integer, nullable=False),
    Column("gap", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("spent30", BigInteger, nullable=False),
    Column("spent90", BigInteger, nullable=False),
    Column("spent180", BigInteger, nullable=False),
    Index("ix_retention_rows_at", "at"),
    Index("ix_retention_rows_customer", "customer"),
)
