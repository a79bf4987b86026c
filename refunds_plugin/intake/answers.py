"""What the service answers: ``Ack`` for an event recorded (or recognised as a duplicate), and
``Answer`` for a decided return request, in the JSON the storefront contract promises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.explanation import as_dry_run
from refunds_plugin.domain.decision import Decision
from refunds_plugin.finance.rows import shown_status
from refunds_plugin.language.said import render
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.decisions import RecordedDecision
from refunds_plugin.ledger.exchanges import ExchangeRow


@dataclass(frozen=True)
class Ack:
    """What the sender is told: recorded now, or recognised as a duplicate."""

    duplicate: bool
    event_row: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A decided return request, as the storefront shows it to the customer."""

    recorded: RecordedDecision
    duplicate: bool
    dry_run: bool  # this order's money would not move (its provider is the dry run), any outcome
    attempts: tuple[AttemptRow, ...] = ()
    # where and by when the items go back, and the label (None: nothing to send back, or no
    # return address configured)
    instructions: dict[str, Any] | None = None
    exchange: ExchangeRow | None = None  # the exchange's state, when lines were swapped
    locale: str | None = None  # the order's language (``orders.locale``), if it said

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        """The answer as JSON, its explanation in ``locale`` (the ledger keeps the English)."""
        d = self.recorded.decision
        extra = {} if self.instructions is None else {"return_instructions": self.instructions}
        out = extra | {
            "decision_id": self.recorded.id,
            "duplicate": self.duplicate,
            "outcome": d.outcome.value,
            "resolution": d.resolution_summary,
            "amount": d.amount,
            "refund_amount": d.refund_amount,
            "credit_amount": d.credit_amount,
            "currency": d.currency,
            "return_required": d.return_required,
            "reason_code": d.reason_code,
            # where no money moves, "we would" and no promise of when it will be on its way
            "explanation": render(as_dry_run(d.explanation) if self.dry_run
                                  else d.explanation, locale),
            "dry_run": self.dry_run,
            "attempts": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "amount": a.amount,
                    "bonus": a.bonus,
                    "status": shown_status(a.status, a.provider, a.livemode),
                    "provider": a.provider,
                    "credit_code": a.credit_code,
                }
                for a in self.attempts
            ],
        }
        if d.exchange is not None:
            out["exchange"] = exchange_json(d, self.exchange)
        return out


def exchange_json(d: Decision, row: ExchangeRow | None) -> dict[str, Any]:
    """The answer's ``exchange`` block: the new lines the storefront ships, the price
    difference and how it is settled, where to pay it, and where the exchange stands."""
    ex = d.exchange
    assert ex is not None
    return {
        "status": row.status if row else "not_started",
        "lines": [{"line_id": ln.line_id, "quantity": ln.quantity, "sku": ln.sku,
                   "name": ln.name, "unit_amount": ln.unit_amount,
                   "variant_id": ln.variant_id} for ln in ex.lines],
        "out_amount": ex.out_amount, "in_amount": ex.in_amount, "fees": ex.fees,
        "difference": ex.difference, "settled_as": ex.settled_as, "back": ex.back,
        "waived": ex.waived, "charge": ex.charge, "ship_on": ex.ship_on,
        "checkout_url": row.checkout_url if row else None,
        "replacement_id": row.replacement_id if row else None,
    }
