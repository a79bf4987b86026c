"""The ledger's tables (SQLAlchemy 2 Core). Alembic migrations in ``migrations/`` create them.

Money columns are integer minor units next to a currency column. Idempotency lives in unique
constraints: an event is recorded once per ``(source, event_id)``, a return request decided once
per ``(order_id, request_key)``, a provider call keyed by the attempt's idempotency key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER

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
    UniqueConstraint("provider", "reference", name="uq_payments_provider_reference"),
    Index("ix_payments_order_id", "order_id"),
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
    Column("kind", String(32), nullable=False),  # failed_payment
    Column("order_id", String(255), nullable=False),
    Column("payment_reference", String(255), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("customer_email", String(320), nullable=True),
    Column("detail", Text, nullable=True),
    Column("status", String(16), nullable=False),  # open | cleared
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("kind", "order_id", name="uq_follow_ups_kind_order"),
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

# Secrets the instance made for itself (migration 0003): one row per name, first writer wins.
instance_keys = Table(
    "instance_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# --- the physical return (written by ``refunds_plugin/shipping/``) ------------------------------

return_shipments = Table(
    "return_shipments",
    metadata,
    # one per approved decision whose items must come back
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("order_id", String(255), nullable=False),
    # instructions | label_pending | label_created | in_transit | out_for_delivery | delivered
    # | failure | return_to_sender | received | expired | reopened
    Column("status", String(24), nullable=False),
    # none | pending | bought | no_label | failed | voided
    Column("label_status", String(16), nullable=False),
    Column("carrier", String(32), nullable=False),  # manual | easypost
    Column("reference", String(255), nullable=False),  # ours, sent to the carrier
    Column("address", Text, nullable=False),  # JSON: where it goes (the shop's)
    Column("from_address", Text, nullable=True),  # JSON: the customer's, when known
    Column("parcel", Text, nullable=True),  # JSON: weight and size for the label
    Column("refund_on", Text, nullable=False),  # JSON: kind → approval|first_scan|…
    Column("shipment_id", String(255), nullable=True),
    Column("tracking_code", String(255), nullable=True),
    Column("label_url", Text, nullable=True),
    Column("qr_code_url", Text, nullable=True),
    Column("carrier_service", String(255), nullable=True),  # e.g. "USPS GroundAdvantage"
    Column("label_amount", BigInteger, nullable=True),  # what the label cost, minor units
    Column("label_currency", String(3), nullable=True),
    Column("label_fee", BigInteger, nullable=False, default=0),  # deducted from the customer
    Column("return_by", DateTime(timezone=True), nullable=False),
    Column("grace_days", Integer, nullable=False, default=0),
    Column("released_at", DateTime(timezone=True), nullable=True),  # the promise clock starts
    Column("tries", Integer, nullable=False, default=0),
    Column("next_try_at", DateTime(timezone=True), nullable=True),  # label step due (pending)
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("reference", name="uq_return_shipments_reference"),
    Index("ix_return_shipments_tracking_code", "tracking_code"),
    Index("ix_return_shipments_order", "order_id"),
)

return_receipts = Table(
    "return_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("decision_id", String(36), ForeignKey("decisions.id"), nullable=False),
    Column("line_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    # as_new | opened | damaged | wrong_item | missing
    Column("condition", String(16), nullable=False),
    Column("restock", Integer, nullable=False, default=0),  # 1: back on the shelf
    # none | pending | done | failed (Saleor's stock, where configured)
    Column("restock_status", String(16), nullable=False),
    Column("received_by", String(255), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("decision_id", "line_id", name="uq_return_receipts_decision_line"),
)


# The notification outbox (migration 0007): emails to customers and events for the merchant's
# systems, written in the transaction of the state change that causes them, delivered later by
# the executor's courier (``refunds_plugin/notify/``, its only writer). One row per
# (cause, kind, recipient); the id is derived from those three, so it is the email's
# Message-ID and the event's ``webhook-id`` on every try.
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
    Column("status", String(16), nullable=False),  # queued | sending | sent | failed | skipped
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
    Index("ix_outbox_status_next_try_at", "status", "next_try_at"),
    Index("ix_outbox_cause", "cause"),
)


# --- what the insights read (migration 0009) ---------------------------------------------------
# Each order's lines as rows (``orders.lines`` is JSON text), with when the order was paid and who
# paid it, so units sold per SKU, product, collection or tag are one indexed GROUP BY. Written by
# ``ledger/line_index.py`` whenever ``orders`` is; ``at`` is ``paid_at`` as epoch seconds (the
# retention windows are integer arithmetic in both databases).
order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("sku", String(255), nullable=False),
    Column("product_id", String(255), nullable=True),
    Column("name", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_order_lines_at", "at"),
)

# One row per collection or tag of an order line (kind "collection" | "tag"), with the line's
# units and money repeated, so a GROUP BY label needs no join.
order_line_labels = Table(
    "order_line_labels",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("label", String(255), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_order_line_labels_kind_at", "kind", "at"),
)

# One row per order with its total, when it was paid and who paid (lower-cased email, else
# ``id:`` and the customer id; NULL when neither is known): sales by payment time, and "who bought
# again within N days".
customer_orders = Table(
    "customer_orders",
    metadata,
    Column("order_id", String(255), primary_key=True),
    Column("customer", String(320), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_customer_orders_customer_at", "customer", "at"),
    Index("ix_customer_orders_at", "at"),
)

# A return decision's lines as the customer asked (units and reason) with the value the policy
# gave each (0 when declined) and whether the item stays with the customer.
return_lines = Table(
    "return_lines",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("line_id", String(255), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kept", Integer, nullable=False),  # 1: the item stays with the customer
    Column("at", BigInteger, nullable=False),  # the decision's time, epoch seconds
    Index("ix_return_lines_at", "at"),
)

# A return decision's figures that are otherwise only in its JSON body: the fees it charged,
# the store-credit bonus, the value kept, the customer's comment, and who asked.
return_figures = Table(
    "return_figures",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("customer", String(320), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("bonus", BigInteger, nullable=False),
    Column("kept", BigInteger, nullable=False),
    Column("comment", Text, nullable=True),
    Column("at", BigInteger, nullable=False),
    Index("ix_return_figures_at", "at"),
    Index("ix_return_figures_customer", "customer"),
)

# "How did we do?": one answer per decision (1-5, optional comment), replaced while its window
# lasts. Written only by ``insights/feedback.py``.
feedback = Table(
    "feedback",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=True),
    Column("changes", Integer, nullable=False, default=0),
)

# ``policy simulate`` and ``policy compare`` stream the return decisions in (created_at, id)
# order: with this index PostgreSQL reads them in order instead of sorting every stored fact.
Index("ix_decisions_created_at_id", decisions.c.created_at, decisions.c.id)

# One row per decision that swaps lines for other items (``ledger/exchanges.py`` writes it):
# the price difference still to be paid, the Stripe Checkout Session that takes it (unique: one
# session settles one exchange), when the new items ship, and the replacement order made for them.
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
    UniqueConstraint("checkout_session_id", name="uq_exchanges_checkout_session_id"),
    Index("ix_exchanges_status", "status"),
)
