"""The physical return's tables: return shipments (labels, tracking), receipts, and the returns
Saleor records without a refund attempt (a free order's)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    # none | listed | pending | in_progress | done | failed (Saleor's stock, where configured)
    Column("restock_status", String(16), nullable=False),
    Column("restock_claim_until", DateTime(timezone=True), nullable=True),  # in_progress lease
    Column("restock_tries", Integer, nullable=False, server_default="0", default=0),
    # the quantity read before the first Saleor call and the one it sets: a retry sets the
    # same target, so the units are added once
    Column("restock_before", BigInteger, nullable=True),
    Column("restock_target", BigInteger, nullable=True),
    Column("restock_note", Text, nullable=True),
    Column("received_by", String(255), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("decision_id", "line_id", name="uq_return_receipts_decision_line"),
)


# A return Saleor is told of with no refund attempt to tell it (a free order's: nothing to
# refund), one per decision (the key: a redelivered request records no second), written in the
# decision's transaction by ``ledger/saleor_returns.py`` and recorded in Saleor by
# ``execution/saleor_returns.py`` as a paid order's first attempt records it.
saleor_returns = Table(
    "saleor_returns",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.id"), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("lines", Text, nullable=False),  # JSON: order line id → units to return
    # pending | recorded | failed | recorded_by_hand
    Column("status", String(16), nullable=False),
    # JSON: the steps done (``providers/saleor/provider.record_return``), saved before the call
    Column("progress", Text, nullable=False, server_default="{}"),
    Column("fulfillment_id", String(255), nullable=True),  # Saleor's RETURNED fulfillment
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("next_try_at", DateTime(timezone=True), nullable=False),
    Column("claim_until", DateTime(timezone=True), nullable=True),  # a worker's lease
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_saleor_returns_due", "status", "next_try_at"),
)

# The notification outbox (migration 0007): emails to customers and events for the merchant's
# systems, written in the transaction of the state change that causes them, delivered later by
# the executor's courier (``refunds_plugin/notify/``, its only writer). One row per
# (cause, kind, recipient); the id is derived from those three, so it is the email's
# Message-ID and the event's ``webhook-id`` on every try.
