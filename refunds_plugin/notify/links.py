"""The customer's status link: the returns page's signed token for a decision, made here so an
email carries the same link the page itself shows (``webhooks/returns/views.py`` uses it)."""

from __future__ import annotations

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
