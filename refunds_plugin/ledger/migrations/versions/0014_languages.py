"""languages: the order's locale, and each decision's explanation as message ids and parameters
(outside the journal), so every reader reads it in their language (issue 15, item 4)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("locale", sa.String(length=35), nullable=True))
    op.add_column("decisions", sa.Column("said", sa.Text(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of ``decisions`` would drop
    # the table other tables' foreign keys point at
    op.execute("ALTER TABLE decisions DROP COLUMN said")
    op.execute("ALTER TABLE orders DROP COLUMN locale")
