"""decisions.chosen_locale, withdrawals.chosen_locale: the language the customer chose on the
returns pages when asking

A customer who chose a language on the returns pages (``?lang=``) read the pages in it, but the
mails about their return came in the order's language. From now on a return asked for on those
pages records the language chosen (only a shipped one: de, fr, es, en), and every later mail
about that decision is written in it, from whichever process sends it. A withdrawal keeps the
choice too, for the return it becomes (decided by the request, or later by the executor's sweep).
Rows written before this revision, and returns asked for elsewhere, stay NULL: their mails are in
the order's language, else the shop's default, as before.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("chosen_locale", sa.String(length=35), nullable=True))
    op.add_column("withdrawals", sa.Column("chosen_locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL), as 0014: a batch copy of ``decisions``
    # would drop the table other tables' foreign keys point at
    op.execute("ALTER TABLE withdrawals DROP COLUMN chosen_locale")
    op.execute("ALTER TABLE decisions DROP COLUMN chosen_locale")
