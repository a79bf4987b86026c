"""orders.order_number: the number customers see (a Saleor order's id is its global id)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("order_number", sa.String(length=255), nullable=True))
    op.create_index("ix_orders_order_number", "orders", ["order_number"])
    # Saleor orders stored before this revision keep their number in orders.extra
    bind = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("order_id", sa.String),
        sa.column("source", sa.String),
        sa.column("extra", sa.Text),
        sa.column("order_number", sa.String),
    )
    rows = bind.execute(
        sa.select(orders.c.order_id, orders.c.extra).where(
            orders.c.source == "saleor", orders.c.extra.is_not(None)
        )
    ).all()
    for order_id, extra in rows:
        number = (json.loads(extra).get("saleor") or {}).get("order_number")
        if number:
            bind.execute(
                sa.update(orders)
                .where(orders.c.order_id == order_id)
                .values(order_number=str(number))
            )


def downgrade() -> None:
    op.drop_index("ix_orders_order_number", table_name="orders")
    op.drop_column("orders", "order_number")
