"""finance log-in sessions kept in the database, so logging out ends them on every host

Before this revision a finance session was only Flask's signed cookie: logging out cleared the
browser's copy, but a saved copy stayed valid for its 8 hours. ``finance_sessions`` holds one row
per log-in (the SHA-256 of the secret the cookie carries, the token, when it ends); a request's
session is valid while its row exists (``finance.sessions``). Sessions made before this revision
carry no secret and must log in again. Self-contained: it reads and changes no other table.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finance_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("tokens.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_finance_sessions_token", "finance_sessions", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_finance_sessions_token", table_name="finance_sessions")
    op.drop_table("finance_sessions")
