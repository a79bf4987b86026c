"""The money's tables: events, orders, payments, decisions, attempts, reviews, follow-ups,
tokens and finance sessions, Saleor installs, the journal and the instance keys."""

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

from refunds_plugin.ledger.tables.base import Id, metadata

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(100), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),  # recorded | processed | ignored
    Column("note", Text, nullable=True),
    UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_amount", BigInteger, nullable=False),
    Column("shipping_amount", BigInteger, nullable=False),
    Column("customer_id", String(255), nullable=True),
    Column("customer_email", String(320), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("fulfilled_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("lines", Text, nullable=False),  # JSON list of OrderLine
    Column("channel", String(255), nullable=True),
    Column("extra", Text, nullable=True),  # JSON: provider-specific facts (e.g. Saleor ids)
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the number customers see when it differs from order_id (Saleor: "1001" vs its global id)
    Column("order_number", String(255), nullable=True),
    # the customer's language ("de"), from order.paid's locale or Saleor's languageCode (0012)
    Column("locale", String(35), nullable=True),
    Index("ix_orders_customer_email", "customer_email"),
    Index("ix_orders_customer_id", "customer_id"),
    Index("ix_orders_order_number", "order_number"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("reference", String(255), nullable=False),
    Column("order_id", String(255), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("refunded_reported", BigInteger, nullable=False, default=0),
    Column("status", String(20), nullable=False),  # succeeded | failed | disputed
    Column("customer_id", String(255), nullable=True),
    Column("customer_email", String(320), nullable=True),
    # Stripe: the charge (``ch_``/``py_``) of the PaymentIntent in ``reference``, or the charge
    # a storefront named the payment by; one payment is one row whichever name arrives first
    Column("charge_id", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # when the provider itself first said this payment succeeded (migration 0004); NULL: only
    # a storefront named it, and corrections resting on it go to a person
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    # the mode Stripe captured it in (its ``livemode``, migration 0029): False is Stripe's test
    # mode, where no real money was taken; NULL is not known (written before 0029, or named
    # only by a storefront or Saleor)
    Column("livemode", Boolean, nullable=True),
    UniqueConstraint("provider", "reference", name="uq_payments_provider_reference"),
    Index("ix_payments_order_id", "order_id"),
    Index("ix_payments_charge_id", "charge_id"),  # migration 0022
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(36), primary_key=True),  # uuid4 hex with dashes
    Column("order_id", String(255), nullable=False),
    Column("request_key", String(255), nullable=False),  # "return:r-1", "overpayment:pi_1"
    Column("kind", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("resolution", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("refund_amount", BigInteger, nullable=False),
    Column("credit_amount", BigInteger, nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("policy_name", String(255), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("explanation", Text, nullable=False),
    Column("body", Text, nullable=False),  # JSON: the whole Decision incl. trace
    Column("facts", Text, nullable=False),  # JSON: what the policy saw
    Column("request", Text, nullable=False),  # JSON: what was asked
    Column("customer_id", String(255), nullable=True),
    Column("customer_email", String(320), nullable=True),
    Column("event_id", Id, ForeignKey("events.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # JSON: the explanation's message ids and parameters (``language.said``), to render it in
    # each reader's language; not in the journal, so translations never touch the chain (0012)
    Column("said", Text, nullable=True),
    # the language the customer chose on the returns pages when asking (a shipped one; None:
    # none chosen): its mails are written in it before the order's language (0031)
    Column("chosen_locale", String(35), nullable=True),
    UniqueConstraint("order_id", "request_key", name="uq_decisions_order_request"),
    Index("ix_decisions_created_at", "created_at"),
    Index("ix_decisions_customer_email", "customer_email"),
)

refund_attempts = Table(
    "refund_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("decision_id", String(36), ForeignKey("decisions.id"), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("seq", Integer, nullable=False),  # position within the decision's resolutions
    Column("provider", String(32), nullable=False),  # stripe | saleor | dryrun
    Column("kind", String(16), nullable=False),  # refund | credit
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # what leaves the order's money
    Column("bonus", BigInteger, nullable=False, default=0),  # extra credit on top
    Column("sent_amount", BigInteger, nullable=True),  # what the provider was asked for
    Column("payment_reference", String(255), nullable=True),
    Column("customer_id", String(255), nullable=True),
    Column("customer_email", String(320), nullable=True),
    Column("reason", String(32), nullable=False, default="requested_by_customer"),
    Column("idempotency_key", String(255), nullable=False),
    # pending | in_progress | succeeded | failed | review | canceled
    Column("status", String(16), nullable=False),
    Column("provider_reference", String(255), nullable=True),
    Column("credit_code", String(255), nullable=True),
    Column("progress", Text, nullable=True),  # JSON: ids created so far in multi-step flows
    Column("tries", Integer, nullable=False, default=0),
    Column("next_try_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(255), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    # the provider's mode when it answered (Stripe's ``livemode``): False is Stripe's test mode,
    # where no real money moves; NULL is not known (written before revision 0025, or a provider
    # without modes: the dry run, Saleor)
    Column("livemode", Boolean, nullable=True),
    # True: the provider's reported refunded total (Stripe's ``amount_refunded``) counts this
    # refund, so while it is open it is pending and not also refunded (``ledger.facts``); NULL:
    # not known to (revision 0034)
    Column("counted_by_provider", Boolean, nullable=True),
    UniqueConstraint("idempotency_key", name="uq_refund_attempts_idempotency_key"),
    UniqueConstraint("decision_id", "seq", name="uq_refund_attempts_decision_seq"),
    Index("ix_refund_attempts_claim", "status", "next_try_at"),
    Index("ix_refund_attempts_order", "order_id"),
)

provider_refunds = Table(
    "provider_refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("refund_id", String(255), nullable=False),
    Column("payment_reference", String(255), nullable=True),
    Column("order_id", String(255), nullable=True),
    Column("attempt_id", String(36), nullable=True),  # set when the refund is one of ours
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("provider", "refund_id", name="uq_provider_refunds_provider_refund"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("decision_id", String(36), ForeignKey("decisions.id"), nullable=False),
    Column("status", String(16), nullable=False),  # open | approved | declined
    Column("reason", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(255), nullable=True),
    Column("note", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    # What an admin's approval changed (``intake.adjustments``), in the ``decisions`` row's own
    # terms, so every reader can take COALESCE(adjusted_…, decisions.…): the decision keeps what
    # the policy said (its hash is in the chain). NULL when nothing was changed. ``verify``
    # holds them up to the ``adjusted`` body of the ``review_decided`` entry.
    Column("adjusted_resolution", String(32), nullable=True),
    Column("adjusted_amount", BigInteger, nullable=True),
    Column("adjusted_refund_amount", BigInteger, nullable=True),
    Column("adjusted_credit_amount", BigInteger, nullable=True),  # with any bonus, as decisions
    UniqueConstraint("decision_id", name="uq_reviews_decision_id"),
)

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # trouble.follow_ups.KINDS
    Column("order_id", String(255), nullable=False),
    # what inside the order ('' for a failed payment; the decision id of a refused label)
    Column("subject", String(64), nullable=False, server_default="", default=""),
    Column("payment_reference", String(255), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("customer_email", String(320), nullable=True),
    Column("detail", Text, nullable=True),
    Column("status", String(16), nullable=False),  # open | cleared
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("kind", "order_id", "subject", name="uq_follow_ups_kind_order_subject"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("role", String(16), nullable=False),  # finance | admin
    Column("token_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
)

# Finance log-in sessions (written by ``refunds_plugin/finance/sessions.py``): the cookie holds
# a random secret, the row its SHA-256; a session lasts while its row does (logging out deletes
# it, on any host), its token is valid and ``expires_at`` is ahead.
finance_sessions = Table(
    "finance_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 hex of the cookie's secret
    Column("token_id", Id, ForeignKey("tokens.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_finance_sessions_token", "token_id"),
)

saleor_installs = Table(
    "saleor_installs",
    metadata,
    Column("api_url", String(1024), primary_key=True),
    Column("app_id", String(255), nullable=True),
    Column("token", Text, nullable=False),
    Column("jwks", Text, nullable=True),
    Column("installed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The tamper-evident journal: every decision, attempt state change and review action appends
# one entry whose hash covers the previous entry's hash (see chain.py).
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("entry_type", String(32), nullable=False),
    Column("subject_id", String(255), nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON
    # NULL until sealed into the chain (PostgreSQL, migration 0010; ledger/seal.py)
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("hash", name="uq_ledger_entries_hash"),
    UniqueConstraint("prev_hash", name="uq_ledger_entries_prev_hash"),
    Index("ix_ledger_entries_subject", "subject_id"),
)

# What the sealer has sealed (migration 0021): one row (id 1), the newest sealed entry's seq and
# hash, written in the transaction that seals it (``seal.py``; on SQLite ``journal.py``), so an
# entry at or below it found unsealed again had its seal erased (``finance/verify.py``).
ledger_seal = Table(
    "ledger_seal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Secrets the instance made for itself (migration 0003): one row per name, first writer wins.
instance_keys = Table(
    "instance_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# --- the physical return (written by ``refunds_plugin/shipping/``) ------------------------------
