"""languages: the order's locale, and each decision's explanation as message ids and parameters
(outside the journal), so every reader reads it in their language (issue 15, item 4)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=35), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("said", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("said")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("locale")
