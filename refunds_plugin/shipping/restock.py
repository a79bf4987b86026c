"""Restock in Saleor: a returned variant's stock in the configured warehouse goes up by the
units put back on the shelf, once.

``productVariantStocksUpdate`` sets a quantity (it does not add), so the current one is read
first and the plan (the quantity read, the quantity to set) is saved before the call
(``Planned``, kept in ``return_receipts``). A try that died after the call and before its
record is taken up again under the restock's lease, and sets the same target, never the
units twice:

* the stock is the target: the first try's call went through; nothing is called;
* the stock is what was read: the call never went through; the target is set now;
* anything else (a sale or another change in between): nobody can tell whether the units were
  added, so the restock fails with both figures for a person to check, rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from refunds_plugin.errors import FinalProviderError
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient


@dataclass(frozen=True)
class Planned:
    before: int  # the quantity read before the first call
    target: int  # the quantity that call sets: before + the units put back


def _quantity(client: SaleorClient, variant_id: str, warehouse_id: str) -> int:
    data = client.execute(graphql.VARIANT_STOCK, {"id": variant_id})
    stocks = (data.get("productVariant") or {}).get("stocks") or []
    return next((int(s["quantity"]) for s in stocks
                 if (s.get("warehouse") or {}).get("id") == warehouse_id), 0)


def restock(client_for: Callable[[str], SaleorClient], api_url: str, variant_id: str,
            warehouse_id: str, units: int, planned: Planned | None,
            plan: Callable[[Planned], None]) -> str:
    """Raise the stock by ``units`` once; ``planned`` is an earlier try's plan (None: this is
    the first), ``plan`` saves a new one before the call. Returns what was done."""
    client = client_for(api_url)
    now = _quantity(client, variant_id, warehouse_id)
    if planned is None:
        planned = Planned(now, now + units)
        plan(planned)
    elif now == planned.target:
        return f"+{units} in {warehouse_id} (already set to {planned.target} by an earlier try)"
    elif now != planned.before:
        raise FinalProviderError(
            f"the stock of {variant_id} in {warehouse_id} is {now}: an interrupted restock "
            f"read {planned.before} and was to set {planned.target}; check by hand whether "
            f"the {units} unit(s) are counted", code="restock_unclear")
    client.mutate(graphql.RESTOCK, {"variantId": variant_id,
                                    "stocks": [{"warehouse": warehouse_id,
                                                "quantity": planned.target}]},
                  "productVariantStocksUpdate")
    return f"+{units} in {warehouse_id}"
