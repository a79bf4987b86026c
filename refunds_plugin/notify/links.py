"""The customer's links for a decision, made here so an email carries the same links the pages
show: the status link (the returns page's signed token, ``webhooks/returns/views.py``) and the
"How did we do?" link (``/returns/feedback/<decision>/<signature>``, checked by
``insights/feedback.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from itsdangerous import URLSafeSerializer

STATUS_SALT = "returns-status"


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
