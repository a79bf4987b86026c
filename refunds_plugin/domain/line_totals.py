"""What each line of an order was charged, when the order's total says more than its lines do.

A storefront's ``order.paid`` may carry a total that is not Σ(unit × quantity) + shipping: an
order-level discount code (lower), tax added on top (higher). ``spread`` puts the difference on
the lines that do not state their own ``total_amount``, in proportion to their amounts, in whole
minor units (largest remainder, ties to the earlier line), so that the lines and shipping add up
to the order's total exactly and every refund is what the customer paid for that item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from refunds_plugin.domain.facts import OrderLine


class TotalsError(ValueError):
    """The order's amounts cannot add up; ``code`` names why (for the 400's error code)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def shares(target: int, weights: Sequence[int]) -> list[int]:
    """``target`` (≥ 0) split in proportion to ``weights`` (≥ 0, not all 0): each share rounded
    down, then one more minor unit to the largest remainders (the earlier on a tie), so the
    shares add up to ``target`` exactly."""
    whole = sum(weights)
    out, remainders = [], []
    for w in weights:
        share, rest = divmod(target * w, whole)
        out.append(share)
        remainders.append(rest)
    short = target - sum(out)  # < len(weights): each share lost less than one unit
    for i in sorted(range(len(weights)), key=lambda i: -remainders[i])[:short]:
        out[i] += 1
    return out


def spread(lines: tuple[OrderLine, ...], shipping: int, total: int) -> tuple[OrderLine, ...]:
    """``lines`` with each one's ``total_amount`` set so that they and ``shipping`` make
    ``total``; the same tuple when they already do (the common case costs one sum). A line
    that states its total keeps it; raises TotalsError when no spread can add up."""
    if sum(ln.amount for ln in lines) + shipping == total:
        return lines
    if total < shipping:
        raise TotalsError(f"total_amount {total} is less than shipping_amount {shipping}",
                          "total_below_shipping")
    stated = sum(ln.total_amount for ln in lines if ln.total_amount is not None)
    open_ = [i for i, ln in enumerate(lines) if ln.total_amount is None]
    target = total - shipping - stated
    if not open_:
        raise TotalsError(
            f"the lines' total_amount ({stated}) plus shipping_amount ({shipping}) is "
            f"{stated + shipping}, not the order's total_amount {total}", "line_totals_mismatch")
    weights = [lines[i].amount for i in open_]
    if target < 0 or not any(weights):
        why = (f"the lines' own total_amount ({stated}) plus shipping_amount ({shipping}) is "
               f"more than the order's total_amount {total}" if target < 0 else
               f"the lines without a total_amount are all free, so the {target} left of the "
               f"order's total_amount {total} cannot be spread over them")
        raise TotalsError(f"{why}; send each line's total_amount", "line_totals_mismatch")
    out = list(lines)
    for i, amount in zip(open_, shares(target, weights), strict=True):
        out[i] = replace(lines[i], total_amount=amount)
    return tuple(out)
