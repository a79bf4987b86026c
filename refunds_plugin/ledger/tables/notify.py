"""The notification outbox: one message per cause, kind and recipient."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from refunds_plugin.ledger.tables.base import Id, metadata

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),  # the order causes happened in
    Column("id", String(36), nullable=False),
    Column("cause", String(255), nullable=False),  # decision:<id>, attempt:<id>, return:<id>, …
    Column("kind", String(64), nullable=False),  # refund_sent, return.decided, …
    Column("channel", String(16), nullable=False),  # mail | event
    Column("recipient", String(320), nullable=False),  # an email address; "merchant" for events
    Column("locale", String(35), nullable=True),
    Column("context", Text, nullable=False),  # JSON: what the message says, as of its cause
    Column("status", String(16), nullable=False),  # queued|sending|sent|failed|gone|skipped (0036)
    Column("tries", Integer, nullable=False),
    Column("next_try_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(255), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("note", Text, nullable=True),  # why it was skipped, or who asked for a resend
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("cause", "kind", "recipient", name="uq_outbox_cause_kind_recipient"),
    UniqueConstraint("id", name="uq_outbox_id"),
    Index("ix_outbox_due", "status", "next_try_at", "seq"),  # the queue, in order (0033)
    Index("ix_outbox_cause", "cause"),
)


# --- what the insights read (migration 0009) ---------------------------------------------------
# Each order's lines as rows (``orders.lines`` is JSON text), with when the order was paid and who
# paid it, so units sold per SKU, product, collection or tag are one indexed GROUP BY. Written by
# ``ledger/line_index.py`` whenever ``orders`` is; ``at`` is ``paid_at`` as epoch seconds (the
# retention windows are integer arithmetic in both databases).
