"""What a Saleor order line is tagged with, for the policy's tag rules (final sale, windows).

Saleor has no "final sale" flag, so the merchant says it in what Saleor does have:

- product or variant metadata under a key they choose (``REFUNDS_SALEOR_FINAL_SALE_KEY``,
  default ``refunds.final_sale``) set to ``true``/``yes``/``1`` → ``final-sale``; the variant's
  value wins, so ``false`` on one variant exempts it from a final-sale product;
- the product type → ``product-type:<slug>``;
- attribute values of the product and the variant → ``attribute:<attribute slug>:<value slug>``
  (a boolean attribute gives ``…:true`` or ``…:false``);
- collections → ``collection:<slug>`` (they also stay in ``OrderLine.collections`` for window
  overrides by collection).

Prefixes keep the kinds apart, so a collection and a product type of the same slug never match
each other's rule. Saleor keeps no snapshot of a product on the order line: these are the
product's values when the order is read, which the service does again before each decision.
"""

from __future__ import annotations

from typing import Any

FINAL_SALE_KEY = "refunds.final_sale"
FINAL_SALE_TAG = "final-sale"
_YES = frozenset({"true", "yes", "1"})
_NO = frozenset({"false", "no", "0", ""})


def _flag(metadata: list[dict[str, Any]] | None, key: str) -> bool | None:
    """The key's value as yes/no; None when absent or not a yes/no word."""
    for item in metadata or []:
        if item.get("key") == key:
            value = str(item.get("value") or "").strip().lower()
            return True if value in _YES else False if value in _NO else None
    return None


def _attributes(selected: list[dict[str, Any]] | None) -> list[str]:
    out = []
    for sel in selected or []:
        attr = (sel.get("attribute") or {}).get("slug")
        if not attr:
            continue
        for value in sel.get("values") or []:
            if value.get("boolean") is not None:
                out.append(f"attribute:{attr}:{'true' if value['boolean'] else 'false'}")
            elif value.get("slug"):
                out.append(f"attribute:{attr}:{value['slug']}")
    return out


def line_tags(variant: dict[str, Any] | None, final_sale_key: str = FINAL_SALE_KEY
              ) -> tuple[str, ...]:
    """The tags of one order line from its ``variant { … product { … } }`` (None: deleted)."""
    if not variant:
        return ()
    product = variant.get("product") or {}
    tags: list[str] = []
    final = _flag(variant.get("metadata"), final_sale_key)
    if final is None:
        final = _flag(product.get("metadata"), final_sale_key)
    if final:
        tags.append(FINAL_SALE_TAG)
    ptype = (product.get("productType") or {}).get("slug")
    if ptype:
        tags.append(f"product-type:{ptype}")
    tags += _attributes(product.get("attributes")) + _attributes(variant.get("attributes"))
    tags += [f"collection:{c['slug']}" for c in product.get("collections") or [] if c.get("slug")]
    return tuple(dict.fromkeys(tags))  # each once, in a stable order
