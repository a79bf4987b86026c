"""Small builders for order facts and return requests used by the policy tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import (
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

SHIRT = OrderLine("shirt", "SHIRT-L", "Linen shirt", 2, 4000)
SOCKS = OrderLine("socks", "SOCK-W", "Wool socks", 1, 400)
DRESS = OrderLine("dress", "DRESS-S", "Silk dress", 1, 12000, tags=("final-sale",))
JACKET = OrderLine("jacket", "JACKET-B", "Leather jacket", 1, 30000)
SCARF = OrderLine("scarf", "SCARF-R", "Red scarf", 1, 2500, tags=("holiday-gift",))
LINES = (SHIRT, SOCKS, DRESS, JACKET, SCARF)
VASE = OrderLine("vase", "VASE-1", "Glass vase", 1, 12345)  # 12.345 in a three-decimal currency
CUP = OrderLine("cup", "CUP-1", "Cup", 2, 1000)
SHIPPING = 800
TOTAL = sum(ln.amount for ln in LINES) + SHIPPING  # 57700


def order(*, days: int | None = 10, lines: tuple[OrderLine, ...] = LINES,
          shipping: int = SHIPPING, payments: tuple[PaymentFacts, ...] | None = None,
          history: CustomerHistory | None = None, paid_days: int | None = None,
          returned: tuple[tuple[str, int], ...] = (), currency: str = "USD") -> OrderFacts:
    """Order 1001, delivered ``days`` ago (None: no delivery, fulfilment or payment date)."""
    total = sum(ln.amount for ln in lines) + shipping
    delivered = NOW - timedelta(days=days) if days is not None else None
    paid = NOW - timedelta(days=paid_days) if paid_days is not None else (
        delivered - timedelta(days=2) if delivered else None)
    return OrderFacts(
        order_id="1001", currency=currency, lines=lines, shipping_amount=shipping,
        total_amount=total, paid_at=paid, delivered_at=delivered,
        fulfilled_at=delivered - timedelta(days=1) if delivered else None,
        payments=payments if payments is not None else (PaymentFacts("stripe", "pi_1", total),),
        returned_quantities=returned, history=history or CustomerHistory(),
    )


def ask(*items: tuple[str, int, Reason], prefer: ResolutionKind | None = None) -> ReturnRequest:
    return ReturnRequest("ret-1", "1001", tuple(ReturnLine(i, q, r) for i, q, r in items),
                         preferred_resolution=prefer)


@dataclass(frozen=True)
class Expect:
    """What a decision must be, to the minor unit."""

    outcome: str
    code: str
    refund: int = 0
    credit: int = 0
    bonus: int = 0
    fees: dict[str, int] = field(default_factory=dict)
    shipping: int = 0
    return_required: bool = True

    def check(self, d: Decision) -> None:
        got = (d.outcome.value, d.reason_code, d.refund_amount,
               sum(r.amount for r in d.resolutions if r.kind is ResolutionKind.CREDIT),
               sum(r.bonus for r in d.resolutions), {f.code: f.amount for f in d.fees},
               d.shipping_refund, d.return_required)
        want = (self.outcome, self.code, self.refund, self.credit, self.bonus, self.fees,
                self.shipping, self.return_required)
        assert got == want, d.explanation
