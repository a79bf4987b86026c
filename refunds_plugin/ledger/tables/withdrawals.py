"""The EU withdrawal function's table: one statement per confirmed form (migration 0013)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from refunds_plugin.ledger.tables.base import metadata

# Written only by ``intake/withdrawals.py``. ``id`` is derived from the order and the form's
# signed nonce, so a form confirmed twice (a double click, a reload, two tabs) inserts once.
withdrawals = Table(
    "withdrawals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("form_key", String(64), nullable=False),  # the form's nonce
    Column("name", Text, nullable=False),  # as the customer typed it
    Column("email", String(320), nullable=False),  # where the receipt goes
    Column("lines", Text, nullable=False),  # JSON: [{"line_id", "name", "quantity"}]
    Column("whole_order", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),  # to the second
    Column("period_ends", DateTime(timezone=True), nullable=True),  # None: no end (or no date)
    Column("in_period", Boolean, nullable=False),  # False: late; sent to a person
    Column("legal_deadline", DateTime(timezone=True), nullable=False),  # received + 14 days
    Column("locale", String(35), nullable=True),  # the page's: its receipt's language
    # the language chosen on the returns pages (None: none), for the return's mails (0031)
    Column("chosen_locale", String(35), nullable=True),
    Column("decision_id", String(36), nullable=True),  # the return it became
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("order_id", "form_key", name="uq_withdrawals_order_form"),
    Index("ix_withdrawals_received_at", "received_at"),
    Index("ix_withdrawals_order_id", "order_id"),
    # the sweep's queue (``decide_pending``): the few not yet a return, oldest first (0018)
    Index("ix_withdrawals_undecided", "created_at", "id",
          postgresql_where=text("decision_id IS NULL"),
          sqlite_where=text("decision_id IS NULL")),
)
