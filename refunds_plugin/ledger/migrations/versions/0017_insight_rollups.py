"""insight rollups: per-day sums and retention rows, folded from insert-only marks

The insights (issue 17) summed order lines and joined every customer order at read time: at a
million orders, seconds per answer. This revision adds the rollups ``ledger/rollups.py`` reads
and folds (sums per UTC day and key; one row per possible retention anchor) and the marks the
writers append (``insight_marks``: insert-only, so writers share no row), and builds the rollups
for the history recorded before it with ``fold.build`` (set-based ``INSERT … SELECT``: the
rows a revision writes and the rows the folder writes stay one definition).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.fold import build

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    c = sa.Column
    op.create_table(
        "insight_marks",
        c("id", Id, primary_key=True, autoincrement=True),
        c("day", sa.Integer(), nullable=True),
        c("customer", sa.String(length=320), nullable=True),
    )
    op.create_table(
        "sold_days",
        c("dimension", sa.String(length=16), primary_key=True),
        c("width", sa.Integer(), primary_key=True),
        c("day", sa.Integer(), primary_key=True),
        c("key", sa.String(length=255), primary_key=True),
        c("currency", sa.String(length=3), primary_key=True),
        c("name", sa.String(length=255), nullable=False),
        c("units", sa.BigInteger(), nullable=False),
        c("money", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "returned_days",
        c("dimension", sa.String(length=16), primary_key=True),
        c("width", sa.Integer(), primary_key=True),
        c("day", sa.Integer(), primary_key=True),
        c("key", sa.String(length=255), primary_key=True),
        c("currency", sa.String(length=3), primary_key=True),
        c("reason", sa.String(length=32), primary_key=True),
        c("granted", sa.Integer(), primary_key=True),
        c("kept", sa.Integer(), primary_key=True),
        c("units", sa.BigInteger(), nullable=False),
        c("money", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "money_days",
        c("term", sa.String(length=16), primary_key=True),
        c("day", sa.Integer(), primary_key=True),
        c("currency", sa.String(length=3), primary_key=True),
        c("amount", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "retention_rows",
        c("id", Id, primary_key=True, autoincrement=True),
        c("customer", sa.String(length=320), nullable=False),
        c("ref", sa.String(length=255), nullable=False),
        c("at", sa.BigInteger(), nullable=False),
        c("prev_at", sa.BigInteger(), nullable=True),
        c("ending", sa.String(length=16), nullable=False),
        c("first", sa.Integer(), nullable=False),
        c("gap", sa.BigInteger(), nullable=True),
        c("currency", sa.String(length=3), nullable=True),
        c("spent30", sa.BigInteger(), nullable=False),
        c("spent90", sa.BigInteger(), nullable=False),
        c("spent180", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_retention_rows_at", "retention_rows", ["at"])
    op.create_index("ix_retention_rows_customer", "retention_rows", ["customer"])
    # ``build`` reads the current definitions, which from 0018 on read a column 0018 adds
    # (``return_lines.exchanged``), and from 0032 on one 0032 adds: the last revision that
    # changes what the rollups sum builds them, so a history is built once, by the definitions
    # it will be folded with
    if "test_money" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(
            "returned_days")}:
        build(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_retention_rows_customer", table_name="retention_rows")
    op.drop_index("ix_retention_rows_at", table_name="retention_rows")
    for name in ("retention_rows", "money_days", "returned_days", "sold_days", "insight_marks"):
        op.drop_table(name)
