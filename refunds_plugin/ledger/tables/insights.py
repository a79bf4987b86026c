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

from refunds_plugin.ledger.tables.base import metadata
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

# One row per decision that swaps lines for other items (``ledger/exchanges.py`` writes it):
# the price difference still to be paid, the Stripe Checkout Session that takes it (unique: one
# session settles one exchange), when the new items ship, and the replacement order made for them.
