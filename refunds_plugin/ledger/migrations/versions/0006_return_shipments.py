"""return_shipments and return_receipts: the physical return (issue 14)

One ``return_shipments`` row per approved decision whose items must come back: where they go,
by when, the label (carrier, shipment, tracking code, what it cost) and the parcel's status.
``return_receipts`` holds what the warehouse received, line by line, and whether it was
restocked. Held refund attempts (``refund_on``) need no column: ``status`` is text.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "return_shipments",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("label_status", sa.String(16), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("from_address", sa.Text(), nullable=True),
        sa.Column("parcel", sa.Text(), nullable=True),
        sa.Column("refund_on", sa.Text(), nullable=False),
        sa.Column("shipment_id", sa.String(255), nullable=True),
        sa.Column("tracking_code", sa.String(255), nullable=True),
        sa.Column("label_url", sa.Text(), nullable=True),
        sa.Column("qr_code_url", sa.Text(), nullable=True),
        sa.Column("carrier_service", sa.String(255), nullable=True),
        sa.Column("label_amount", sa.BigInteger(), nullable=True),
        sa.Column("label_currency", sa.String(3), nullable=True),
        sa.Column("label_fee", sa.BigInteger(), nullable=False),
        sa.Column("return_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_return_shipments"),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name="fk_return_shipments_decision_id_decisions"),
        sa.UniqueConstraint("reference", name="uq_return_shipments_reference"),
    )
    op.create_index("ix_return_shipments_tracking_code", "return_shipments", ["tracking_code"])
    op.create_index("ix_return_shipments_order", "return_shipments", ["order_id"])
    op.create_table(
        "return_receipts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("line_id", sa.String(255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("restock", sa.Integer(), nullable=False),
        sa.Column("restock_status", sa.String(16), nullable=False),
        sa.Column("received_by", sa.String(255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name="fk_return_receipts_decision_id_decisions"),
        sa.UniqueConstraint("decision_id", "line_id", name="uq_return_receipts_decision_line"),
    )


def downgrade() -> None:
    op.drop_table("return_receipts")
    op.drop_index("ix_return_shipments_order", "return_shipments")
    op.drop_index("ix_return_shipments_tracking_code", "return_shipments")
    op.drop_table("return_shipments")
