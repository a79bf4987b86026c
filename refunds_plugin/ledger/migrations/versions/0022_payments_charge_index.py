"""payments: an index on the charge, as on the reference

Every ``order.paid`` that names a payment asks which order holds it, under its reference or as
a Stripe charge (``trouble.payment_owners``), and a payment named by both its names finds its one
row the same way (``orders.payment_row``). The charge had no index, so each of those read every
payment ever recorded (on PostgreSQL 3,600 rows a look at 3,600 payments; the time grew with the
shop). With an index on ``charge_id`` both halves of the look are index searches on either
database. Not ``(provider, charge_id)``: sharing the leading column with ``(provider,
reference)``, PostgreSQL without statistics (a young shop) took it for the reference's half too,
searching by the provider alone.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_payments_charge_id", "payments", ["charge_id"])


def downgrade() -> None:
    op.drop_index("ix_payments_charge_id", table_name="payments")
