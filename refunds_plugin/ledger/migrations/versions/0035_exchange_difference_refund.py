"""exchanges.payment_reference, exchanges.checkout_status: a paid difference can be given back

An exchange's dearer item's difference is paid through a Stripe Checkout Session, but its row
kept only when it was paid, not which PaymentIntent paid it, so nothing could refund it: an
exchange that ended after the customer paid (a person declined it once it failed, or the
payment came in after the exchange fell back for stock) left the money with the shop.
``payment_reference`` is the session's PaymentIntent, recorded as it is paid; rows paid before
this revision get it from the ``checkout.session.completed`` the inbox kept for them (a row
whose event is not there stays NULL: a person is asked to refund it). ``checkout_status``
says whether an exchange that ended while its session was open still has a link to expire
at Stripe (``expiring``), or what became of it (``expired``, ``paid``, ``failed``).

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def _paid_by(payload: str) -> tuple[str, str] | None:
    """(decision id, PaymentIntent id) of a difference's ``checkout.session.completed``."""
    try:
        obj = json.loads(payload)["data"]["object"]
        meta = obj.get("metadata") or {}
        pi = obj.get("payment_intent")
        pi = pi.get("id") if isinstance(pi, dict) else pi
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # an unreadable payload: nothing to learn from it
    if not isinstance(meta, dict) or meta.get("purpose") == "original_due":
        return None
    decision_id = meta.get("decision_id")
    if not decision_id or not isinstance(pi, str) or not pi:
        return None
    return str(decision_id), pi


def upgrade() -> None:
    op.add_column("exchanges", sa.Column("payment_reference", sa.String(255), nullable=True))
    op.add_column("exchanges", sa.Column("checkout_status", sa.String(20), nullable=True))
    conn = op.get_bind()
    found: dict[str, str] = {}
    events = conn.execute(sa.text("SELECT payload FROM events WHERE source = 'stripe' "
                                  "AND type = 'checkout.session.completed' ORDER BY id"))
    for (payload,) in events:
        paid = _paid_by(payload)
        if paid is not None:
            found.setdefault(*paid)  # the first completion paid it
    for decision_id, pi in found.items():
        conn.execute(sa.text("UPDATE exchanges SET payment_reference = :pi "
                             "WHERE decision_id = :d AND paid_at IS NOT NULL "
                             "AND payment_reference IS NULL"), {"pi": pi, "d": decision_id})


def downgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("checkout_status")
        batch.drop_column("payment_reference")
