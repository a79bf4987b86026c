"""The exchanges' table: one exchange per decision line."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from refunds_plugin.ledger.tables.base import metadata

exchanges = Table(
    "exchanges",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    # awaiting_payment | waiting (for ship_on) | ready (ship_on reached) | shipped
    # | fallen_back (the difference was never paid) | failed (a person must look)
    Column("status", String(20), nullable=False),
    Column("ship_on", String(20), nullable=False),
    Column("reached", String(20), nullable=True),  # the trigger that reached ship_on
    Column("difference", BigInteger, nullable=False),
    Column("charge_amount", BigInteger, nullable=False),
    Column("waived_amount", BigInteger, nullable=False),
    Column("back_amount", BigInteger, nullable=False),
    Column("checkout_session_id", String(255), nullable=True),
    Column("checkout_url", Text, nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("replacement_id", String(255), nullable=True),  # Saleor's replacement draft order
    Column("progress", Text, nullable=False, server_default="{}"),  # JSON: steps done
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("fallback_decision_id", String(36), nullable=True),
    # an instant exchange whose original never came back: its value, owed (minor units)
    Column("original_due", BigInteger, nullable=True),
    Column("claim_until", DateTime(timezone=True), nullable=True),  # a worker's lease on it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the mode Stripe took the difference in (the session's ``livemode``, migration 0030): False
    # is Stripe's test mode, no real money taken; NULL not known (paid before 0030, or not paid)
    Column("livemode", Boolean, nullable=True),
    # the PaymentIntent that paid the difference (migration 0035): what a refund of it names
    Column("payment_reference", String(255), nullable=True),
    # an exchange that ended while its session was open (sold out awaiting payment): expiring
    # (the worker expires it at Stripe) | expired | paid (the customer paid first: refunded)
    # | failed (Stripe would not expire it: a person is told); NULL: nothing to expire
    Column("checkout_status", String(20), nullable=True),
    UniqueConstraint("checkout_session_id", name="uq_exchanges_checkout_session_id"),
    Index("ix_exchanges_status", "status"),
)

# An instant exchange's original that never came back: its value, due from the customer, once
# per exchange. On a Stripe shop a Checkout Session takes it (``charging`` → ``open`` → ``paid``);
# elsewhere it is ``owed`` (the merchant's systems and a follow-up chase it). The original's first
# scan after all: an unpaid link is expired (``expiring`` → ``canceled``), a paid one refunded
# (``refunding`` → ``refunded``, through a refund attempt).
exchange_dues = Table(
    "exchange_dues",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # minor units
    Column("status", String(20), nullable=False),
    Column("checkout_session_id", String(255), nullable=True),
    Column("checkout_url", Text, nullable=True),
    Column("paid_amount", BigInteger, nullable=True),
    Column("payment_reference", String(255), nullable=True),  # the session's PaymentIntent
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("refund_attempt_id", String(36), nullable=True),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("livemode", Boolean, nullable=True),  # as exchanges.livemode, for the original's
    UniqueConstraint("checkout_session_id", name="uq_exchange_dues_checkout_session_id"),
    Index("ix_exchange_dues_status", "status"),
)
