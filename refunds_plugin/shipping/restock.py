"""Restock in Saleor: a returned variant's stock in the configured warehouse goes up by the
units put back on the shelf (``productVariantStocksUpdate`` sets a quantity, so the current one
is read first)."""

from __future__ import annotations

from collections.abc import Callable

from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient


def restock(client_for: Callable[[str], SaleorClient], api_url: str, variant_id: str,
            warehouse_id: str, units: int) -> None:
    client = client_for(api_url)
    data = client.execute(graphql.VARIANT_STOCK, {"id": variant_id})
    stocks = (data.get("productVariant") or {}).get("stocks") or []
    now = next((int(s["quantity"]) for s in stocks
                if (s.get("warehouse") or {}).get("id") == warehouse_id), 0)
    client.mutate(graphql.RESTOCK, {"variantId": variant_id,
                                    "stocks": [{"warehouse": warehouse_id,
                                                "quantity": now + units}]},
                  "productVariantStocksUpdate")
