"""The Saleor app manifest: who we are, what we may do, and which order events we hear.

Permissions: MANAGE_ORDERS (order events and queries, returns, granted refunds), HANDLE_PAYMENTS
(requesting the refund of a granted refund, reading transactions), MANAGE_GIFT_CARD (store
credit). Each webhook asks Saleor for ``issuingPrincipal`` so events this app caused are known.

The order widget (an extension at ``ORDER_DETAILS_WIDGETS``, target ``WIDGET``, posted to with
``widgetTarget.method: POST``) exists since Saleor 3.22; 3.20 and 3.21 refuse an install whose
manifest names a mount they do not know. Saleor says which version fetches the manifest
(``Saleor-Schema-Version: 3.23``), so the widget is declared only for 3.22 and later, and never
when the version is unknown. ``audience`` makes Saleor put our app URL in the ``aud`` of every
token it issues for this app (the widget's token is checked against it).
"""

from __future__ import annotations

from typing import Any

from refunds_plugin import __version__
from refunds_plugin.saleor import graphql

APP_ID = "refunds-plugin"
PERMISSIONS = ("MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_GIFT_CARD")
REQUIRED_SALEOR = ">=3.20"
WIDGETS_SINCE = (3, 22)
WIDGET_PATH = "/saleor/widget/order"


def parse_version(version: str | None) -> tuple[int, int] | None:
    """``"3.23"`` or ``"3.23.28"`` → ``(3, 23)``; None when absent or not a version."""
    parts = (version or "").strip().split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def supports_widgets(saleor_version: str | None) -> bool:
    found = parse_version(saleor_version)
    return found is not None and found >= WIDGETS_SINCE


def extensions(base: str, saleor_version: str | None) -> list[dict[str, Any]]:
    if not supports_widgets(saleor_version):
        return []
    return [{
        "label": "Returns and refunds",
        "mount": "ORDER_DETAILS_WIDGETS",
        "target": "WIDGET",
        # the Dashboard shows the widget only to staff with these; deciding needs them too
        "permissions": ["MANAGE_ORDERS"],
        "url": f"{base}{WIDGET_PATH}",
        "options": {"widgetTarget": {"method": "POST"}},
    }]


def manifest(app_url: str, saleor_version: str | None = None,
             restock: bool = False) -> dict[str, Any]:
    """The manifest for an app served at ``app_url`` (``https://refunds.example.com``), for the
    Saleor ``saleor_version`` (``"3.23"``) that asks; the widget only where it exists.
    ``restock``: returned items go back into stock (``[saleor] restock_warehouse``), so the
    app asks for MANAGE_PRODUCTS too; only then."""
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
        "permissions": [*PERMISSIONS, *(("MANAGE_PRODUCTS",) if restock else ())],
        "appUrl": base,
        "tokenTargetUrl": f"{base}/saleor/register",
        "homepageUrl": base,
        "audience": base,
        "extensions": extensions(base, saleor_version),
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
