"""outbox: the due index holds the queue's order (``status, next_try_at, seq``)

A courier's claim takes the first due messages in the order they were queued, ``next_try_at``
then ``seq``. Each half of the claim (waiting, lapsed: ``ledger/due.py``) is now read along this
index in that order and stops after the batch. On ``(status, next_try_at)`` alone PostgreSQL had
to sort every waiting message with the same ``next_try_at`` first (messages queued in one
transaction share it), and after statistics taken during a burst it read the whole table
instead (``tests/integration/test_queue_scans.py``). The index replaces
``ix_outbox_status_next_try_at``, whose columns are its first two.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_due", "outbox", ["status", "next_try_at", "seq"])
    op.drop_index("ix_outbox_status_next_try_at", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_status_next_try_at", "outbox", ["status", "next_try_at"])
    op.drop_index("ix_outbox_due", table_name="outbox")
