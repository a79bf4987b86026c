"""What a Saleor order line may be exchanged for: its product's other variants, with their price
in the order's channel and what is in stock (``PRODUCT_VARIANTS``, public fields only), for the
returns page's "exchange for another size/colour"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from refunds_plugin.domain.facts import OrderFacts, Variant
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.order import minor


def product_variants(client: SaleorClient, product_id: str, channel: str | None,
                     currency: str, exclude_sku: str = "",
                     wanted: Mapping[str, int] | None = None) -> tuple[Variant, ...]:
    """The product's variants priced in ``currency`` (others are left out: the difference is
    worked out in the order's currency), without the line's own one. A variant a promotion sells
    below its list price keeps that list price too (``Variant.list_amount``): the exchange
    carries the returned line's discount over onto it. In stock: Saleor has the units asked
    of it (``wanted``, by SKU: a request's; 1 where none are), else the replacement's
    ``draftOrderComplete`` would fail for stock after the exchange was approved."""
    data = client.execute(graphql.PRODUCT_VARIANTS, {"id": product_id, "channel": channel})
    product: dict[str, Any] = data.get("product") or {}
    out = []
    for var in product.get("variants") or []:
        pricing = var.get("pricing") or {}
        gross = (pricing.get("price") or {}).get("gross")
        if not gross or gross.get("currency") != currency or not var.get("sku") \
                or var["sku"] == exclude_sku:
            continue
        name = " ".join(x for x in (product.get("name"), var.get("name")) if x) or var["sku"]
        available = var.get("quantityAvailable")
        price = minor(gross, currency)
        listed = _listed(pricing, currency)
        out.append(Variant(var["sku"], name, price,
                           None if available is None
                           else int(available) >= max(1, (wanted or {}).get(var["sku"], 1)),
                           var.get("id"),
                           listed if listed is not None and listed > price else None))
    return tuple(out)


def _listed(pricing: dict[str, Any], currency: str) -> int | None:
    """``priceUndiscounted`` in minor units; None when Saleor gives none in ``currency``."""
    gross = (pricing.get("priceUndiscounted") or {}).get("gross")
    return minor(gross, currency) if gross and gross.get("currency") == currency else None


def order_variants(client: SaleorClient, facts: OrderFacts, channel: str | None,
                   wanted: Mapping[str, int] | None = None) -> dict[str, tuple[Variant, ...]]:
    """Each line's exchange choices, one query per product (``wanted``: units asked, by SKU)."""
    by_product: dict[str, tuple[Variant, ...]] = {}
    out = {}
    for line in facts.lines:
        if not line.product_id:
            continue
        if line.product_id not in by_product:
            by_product[line.product_id] = product_variants(
                client, line.product_id, channel, facts.currency, wanted=wanted)
        out[line.id] = tuple(v for v in by_product[line.product_id] if v.sku != line.sku)
    return out


def with_variants(facts: OrderFacts, choices: dict[str, tuple[Variant, ...]]) -> OrderFacts:
    """The facts with each line's exchange choices, where the line carries none of its own."""
    lines = tuple(ln if ln.variants or ln.id not in choices
                  else replace(ln, variants=choices[ln.id]) for ln in facts.lines)
    return replace(facts, lines=lines)
