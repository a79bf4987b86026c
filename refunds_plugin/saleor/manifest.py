"""The Saleor app manifest: who we are, what we may do, and which order events we hear.

Permissions: MANAGE_ORDERS (order events and queries, returns, granted refunds), HANDLE_PAYMENTS
(requesting the refund of a granted refund, reading transactions), MANAGE_GIFT_CARD (store
credit). Each webhook asks Saleor for ``issuingPrincipal`` so events this app caused are known.
"""

from __future__ import annotations

from typing import Any

from refunds_plugin import __version__
from refunds_plugin.saleor import graphql

APP_ID = "refunds-plugin"
PERMISSIONS = ("MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_GIFT_CARD")
REQUIRED_SALEOR = ">=3.20"


def manifest(app_url: str) -> dict[str, Any]:
    """The manifest for an app served at ``app_url`` (``https://refunds.example.com``)."""
    base = app_url.rstrip("/")
    return {
        "id": APP_ID,
        "name": "Refunds",
        "version": __version__,
        "about": (
            "No-hassle returns: every return request decided by your policy and explained, "
            "refunds through granted refunds and store credit as gift cards, with a "
            "tamper-evident ledger for finance."
        ),
        "requiredSaleorVersion": REQUIRED_SALEOR,
        "permissions": list(PERMISSIONS),
        "appUrl": base,
        "tokenTargetUrl": f"{base}/saleor/register",
        "homepageUrl": base,
        "webhooks": [
            {
                "name": f"refunds: {event.lower()}",
                "asyncEvents": [event],
                "query": graphql.subscription(type_name),
                "targetUrl": f"{base}/webhooks/saleor",
                "isActive": True,
            }
            for event, type_name in graphql.ORDER_EVENTS.items()
        ],
    }
