"""The customer's links for a decision, made here so an email carries the same links the pages
show: the status link (the returns page's signed token, ``webhooks/returns/views.py``) and the
"How did we do?" link (``/returns/feedback/<decision>/<signature>``, checked by
``insights/feedback.py``), and until when that link takes answers (``feedback_until``): an
email rendered later leaves it out."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from itsdangerous import URLSafeSerializer
from sqlalchemy import Connection, select

from refunds_plugin.domain.decision import answered_at
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import decisions, reviews

STATUS_SALT = "returns-status"
FEEDBACK_DAYS = 14  # the feedback link takes answers this long from the final answer
ASKS_FEEDBACK = ("approved", "declined", "refund_sent", "credit_issued")  # the final answers


def status_token(secret_key: str, decision_id: str) -> str:
    return str(URLSafeSerializer(secret_key, salt=STATUS_SALT).dumps(decision_id))


def status_url(base_url: str, secret_key: str, decision_id: str) -> str | None:
    """The absolute link, or None when the service does not know its public address
    (``REFUNDS_APP_URL``) or has no key to sign with."""
    if not base_url or not secret_key:
        return None
    return f"{base_url.rstrip('/')}/returns/status/{status_token(secret_key, decision_id)}"


def feedback_signature(secret_key: str, decision_id: str) -> str:
    """The feedback link's HMAC of the decision id (URL-safe, no padding)."""
    mac = hmac.new(secret_key.encode(), f"feedback:{decision_id}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def feedback_path(secret_key: str, decision_id: str) -> str:
    return f"/returns/feedback/{decision_id}/{feedback_signature(secret_key, decision_id)}"


def feedback_url(base_url: str, secret_key: str, decision_id: str) -> str | None:
    """The absolute feedback link, or None for the same reasons as ``status_url``."""
    if not base_url or not secret_key:
        return None
    return f"{base_url.rstrip('/')}{feedback_path(secret_key, decision_id)}"


def answered(conn: Connection, decision_id: str) -> tuple[bool, datetime | None]:
    """(known, when the final answer was given): None while a person has yet to decide a
    review (an approval whose payout a person re-checks was still given when recorded)."""
    row = conn.execute(
        select(decisions.c.created_at, decisions.c.outcome, reviews.c.status,
               reviews.c.decided_at)
        .select_from(decisions.outerjoin(reviews, reviews.c.decision_id == decisions.c.id))
        .where(decisions.c.id == decision_id)).first()
    if row is None:
        return False, None
    given = answered_at(row.outcome, row.status, row.decided_at, row.created_at)
    return True, None if given is None else aware(given)


def feedback_until(given: datetime | None) -> datetime | None:
    """The end of the feedback link's window for an answer given then; None while there is
    no answer yet."""
    return None if given is None else aware(given) + timedelta(days=FEEDBACK_DAYS)
