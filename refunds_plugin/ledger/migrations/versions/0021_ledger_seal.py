"""ledger_seal: what the sealer has sealed, so an entry un-sealed afterwards is found

One row (id 1): the newest sealed entry's ``seq`` and ``hash``, written in the transaction that
seals it (``ledger.seal`` on PostgreSQL, ``journal.append_entries`` on SQLite). An entry at or
below it with its hash erased, or a row that no longer matches the chain, is named by
``refunds ledger verify``. The row starts at the chain's newest sealed entry today; a ledger
with no sealed entry starts without one (the first seal writes it).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_seal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.execute(
        "INSERT INTO ledger_seal (id, seq, hash) SELECT 1, seq, hash FROM ledger_entries "
        "WHERE seq = (SELECT max(seq) FROM ledger_entries WHERE hash IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_table("ledger_seal")
