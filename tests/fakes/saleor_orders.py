"""The shapes of a fake Saleor order's parts: a Money, an order line's product as the ORDER
document selects it, and Saleor's spread of an order voucher over the lines."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any


def money(amount: str, currency: str) -> dict[str, Any]:
    return {"amount": Decimal(amount), "currency": currency}


def voucher_totals(totals: list[Decimal], voucher: Decimal) -> list[Decimal]:
    """Saleor's order-voucher propagation: each line's share in proportion to its total, cut
    to the cent, the last line taking what is left, so the shares add up to the voucher."""
    subtotal, out, left = sum(totals), [], voucher
    for i, line_total in enumerate(totals):
        share = left if i == len(totals) - 1 else (voucher * line_total / subtotal).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN)
        left -= share
        out.append(line_total - share)
    return out


def product(
    *,
    metadata: dict[str, str] | None = None,
    variant_metadata: dict[str, str] | None = None,
    product_type: str = "shirts",
    attributes: dict[str, list[str]] | None = None,
    collections: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An order line's ``variant { ... product { ... } }``, as the ORDER document selects it."""
    def meta(items: dict[str, str] | None) -> list[dict[str, str]]:
        return [{"key": k, "value": v} for k, v in (items or {}).items()]

    return {
        "id": "UHJvZHVjdFZhcmlhbnQ6MQ==", "metadata": meta(variant_metadata), "attributes": [],
        "product": {
            "id": "UHJvZHVjdDox", "metadata": meta(metadata),
            "productType": {"slug": product_type},
            "attributes": [
                {"attribute": {"slug": slug}, "values": [{"slug": v, "boolean": None}
                                                         for v in values]}
                for slug, values in (attributes or {}).items()
            ],
            "collections": [{"slug": c} for c in collections],
        },
    }
