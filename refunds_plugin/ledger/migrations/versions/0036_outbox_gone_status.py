"""outbox.status ``gone``: the event the merchant's endpoint answered 410 Gone to

While the merchant's endpoint takes no more events, no event is sent to it. That state was kept
as words: the refused event's row was ``failed`` with the note "endpoint gone: …", which the
courier, the outbox page and ``/metrics`` searched for. It is now that row's status, ``gone``,
which a resend turns back to ``queued``. A row left in the old form becomes ``gone`` and its
note (those words) is cleared; down again, a ``gone`` row is ``failed`` with the note back.
No column changes: ``status`` is a ``String(16)`` and ``ix_outbox_due`` leads with it.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

# the note the code of 0035 and before wrote on the refused event (``notify.outbox.GONE_NOTE``)
OLD_NOTE = "endpoint gone: no more events are sent until this one is sent again"


def upgrade() -> None:
    op.get_bind().execute(
        sa.text(
            "UPDATE outbox SET status = 'gone', note = NULL WHERE status = 'failed' "
            "AND channel <> 'mail' AND note = :note"
        ),
        {"note": OLD_NOTE},
    )


def downgrade() -> None:
    op.get_bind().execute(
        sa.text("UPDATE outbox SET status = 'failed', note = :note WHERE status = 'gone'"),
        {"note": OLD_NOTE},
    )
