"""What returns cost, per currency, beside the sales of the same period (by payment time).

Each figure is one *term*: a name, the words a reader sees, whether it is money that left the
shop, and a query giving ``(currency, amount)`` for the return decisions decided in the period.
A further source of cost is one more ``Term`` in ``TERMS``.

- refunded: succeeded refunds to the original payment;
- credited: succeeded store credit, without its bonus; bonus: the extra credit on top;
- fees: restocking and return-shipping fees the customer paid (kept back from the refund);
- kept: the value of items customers keep (already inside refunded / credited: it is what the
  shop will not get back, not more money out);
- labels: prepaid return labels bought (``return_shipments``), unless the carrier refunded them;
- dry run: what the dry-run provider "paid"; no money moved, so it is in no total;
- test mode: what Stripe "paid" in its test mode (a test key: the attempt's ``livemode`` is
  false), refunds, credit and bonus alike; no real money moved, so it is neither refunded,
  credited nor bonus, and in no total (an attempt whose mode is not known counts as paid);
- exchanged: the value of the items customers sent back for another item (no money returned;
  an exchange that fell back is counted as the refund or credit decided in its place);
  exchange charged: the dearer items' differences customers paid (not in Stripe's test mode,
  the exchange's ``livemode`` false: no real money taken); exchange waived: the
  differences the shop let go. A cheaper item's difference paid back is in refunded or
  credited. None of these is money out. ``Costs.exchanges`` counts the exchanges per currency:
  those that did not fall back and those that fell back.

Money out is refunded + credited + bonus + labels. Shares of sales are basis
points of the period's sales: order totals of the orders paid in it. Per product (``by_product``,
from ``insights.reasons``), the money returned leaves out what Stripe paid in its test mode as
the terms do: that is ``money_test_mode``, beside it.

Sales, fees and kept value come from the day rollups (``ledger/rollups.py``, exact whatever
the fold's lag); the attempts and labels terms read the period's return decisions (a few per
order at most) with their attempts and labels, whose states change outside the insights'
writers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, and_, case, func, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.insights.dryrun import COSTS_TEST_NOTICES, NOTICES, TEST_WORDS
from refunds_plugin.insights.period import Period
from refunds_plugin.insights.reasons import money_words, rate_bp, reasons
from refunds_plugin.ledger import rollups
from refunds_plugin.ledger.tables import (
    exchanges,
    refund_attempts,
    return_figures,
    return_lines,
    return_shipments,
)


def _attempts(amount: Any, *where: Any) -> Callable[[Period, bool], Select[Any]]:
    """Succeeded attempts of the period's return decisions, ``amount`` summed per currency."""
    def query(p: Period, use: bool) -> Select[Any]:
        a = refund_attempts.c
        return (select(a.currency, func.sum(amount))
                .select_from(refund_attempts.join(
                    return_figures, return_figures.c.decision_id == a.decision_id))
                .where(return_figures.c.at >= p.start, return_figures.c.at < p.end,
                       a.status == AttemptStatus.SUCCEEDED.value, *where)
                .group_by(a.currency))
    return query


def _rolled(term: str) -> Callable[[Period, bool], Select[Any]]:
    """A ``money_days`` term per currency: sales, or fees or kept value of granted returns."""
    def query(p: Period, use: bool) -> Select[Any]:
        u = rollups.money(rollups.span(p.start, p.end, use))
        return select(u.c.currency, func.sum(u.c.amount)).where(u.c.term == term) \
            .group_by(u.c.currency)
    return query


def _labels(p: Period, use: bool) -> Select[Any]:
    """Prepaid labels bought for the period's return decisions, per the label's currency; a
    label the carrier refunded (voided, unused) cost nothing."""
    s = return_shipments.c
    return (select(s.label_currency, func.sum(s.label_amount))
            .select_from(return_shipments.join(
                return_figures, return_figures.c.decision_id == s.decision_id))
            .where(return_figures.c.at >= p.start, return_figures.c.at < p.end,
                   s.label_amount.is_not(None), s.label_status != "voided")
            .group_by(s.label_currency))


_x = exchanges.c


def _exchanges(amount: Any, *where: Any) -> Callable[[Period, bool], Select[Any]]:
    """Exchanges of the period's return decisions that did not fall back, ``amount`` summed."""
    def query(p: Period, use: bool) -> Select[Any]:
        return (select(_x.currency, func.sum(amount))
                .select_from(exchanges.join(
                    return_figures, return_figures.c.decision_id == _x.decision_id))
                .where(return_figures.c.at >= p.start, return_figures.c.at < p.end,
                       _x.status != "fallen_back", *where)
                .group_by(_x.currency))
    return query


def _exchanged(p: Period, use: bool) -> Select[Any]:
    """The value of the exchanged lines of the period's exchanges that did not fall back."""
    rl = return_lines.c
    return (select(_x.currency, func.sum(rl.amount))
            .select_from(return_lines.join(exchanges, _x.decision_id == rl.decision_id))
            .where(rl.at >= p.start, rl.at < p.end, rl.exchanged == 1,
                   _x.status != "fallen_back")
            .group_by(_x.currency))


def _exchange_counts(p: Period) -> Select[Any]:
    fell = case((_x.status == "fallen_back", 1), else_=0)
    return (select(_x.currency, func.count() - func.sum(fell), func.sum(fell))
            .select_from(exchanges.join(
                return_figures, return_figures.c.decision_id == _x.decision_id))
            .where(return_figures.c.at >= p.start, return_figures.c.at < p.end)
            .group_by(_x.currency))


@dataclass(frozen=True)
class Term:
    name: str
    words: str
    money_out: bool  # added into "money out"
    query: Callable[[Period, bool], Select[Any]]  # (period, whether to read the rollups)


_a = refund_attempts.c
_live = _a.provider != DRYRUN_PROVIDER
_real = and_(_live, _a.livemode.is_not(False))  # neither the dry run nor Stripe's test mode
TERMS: tuple[Term, ...] = (
    Term("refunded", "refunded to the payment", True,
         _attempts(_a.amount, _real, _a.kind == "refund")),
    Term("credited", "store credit (without bonus)", True,
         _attempts(_a.amount, _real, _a.kind == "credit")),
    Term("bonus", "store-credit bonus", True,
         _attempts(_a.bonus, _real, _a.kind == "credit")),
    Term("labels", "prepaid return labels", True, _labels),
    Term("fees", "fees customers paid", False, _rolled("fees")),
    Term("kept", "items customers keep (value)", False, _rolled("kept")),
    Term("dry_run", "dry run (no money moved)", False,
         _attempts(_a.amount + _a.bonus, and_(_a.provider == DRYRUN_PROVIDER))),
    Term("test_mode", TEST_WORDS, False,
         _attempts(_a.amount + _a.bonus, _live, _a.livemode.is_(False))),
    Term("exchanged", "items exchanged (value)", False, _exchanged),
    Term("exchange_charged", "exchange differences paid", False,
         _exchanges(_x.charge_amount, _x.paid_at.is_not(None), _x.livemode.is_not(False))),
    Term("exchange_waived", "exchange differences waived", False,
         _exchanges(_x.waived_amount)),
)


_sales = _rolled("sales")


@dataclass(frozen=True)
class Costs:
    period: Period
    sales: dict[str, int]
    figures: dict[str, dict[str, int]]  # currency -> term -> amount
    by_product: list[dict[str, Any]]
    # currency -> {"exchanges": that did not fall back, "fallen_back": n}
    exchanges: dict[str, dict[str, int]]
    dry_run: bool = False  # some money of the period went through the dry-run provider
    dry_share: str = "none"  # how much: all | some | none (``insights.dryrun.dry_share``)
    test_share: str = "none"  # Stripe's test mode, the same (``dryrun.stripe_test_share``)

    def currencies(self) -> list[str]:
        return sorted(set(self.sales) | set(self.figures))

    def rows(self) -> list[dict[str, Any]]:
        """One row per currency and term, with its share of sales; then money out."""
        out = []
        for cur in self.currencies():
            sales = self.sales.get(cur, 0)
            got = self.figures.get(cur, {})
            for t in TERMS:
                amount = got.get(t.name, 0)
                out.append({"currency": cur, "term": t.name, "words": t.words,
                            "amount": amount, "share_of_sales_bp": rate_bp(amount, sales),
                            "money_out": t.money_out})
            total = sum(got.get(t.name, 0) for t in TERMS if t.money_out)
            out.append({"currency": cur, "term": "money_out", "words": "money out in all",
                        "amount": total, "share_of_sales_bp": rate_bp(total, sales),
                        "money_out": True})
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.period.to_json(),
                "sales": [{"currency": c, "amount": self.sales.get(c, 0)}
                          for c in self.currencies()],
                "rows": self.rows(), "by_product": self.by_product,
                "dry_run": self.dry_run, "dry_run_share": self.dry_share,
                "dry_run_notice": NOTICES.get(self.dry_share), "test_mode_share": self.test_share,
                "test_mode_notice": COSTS_TEST_NOTICES.get(self.test_share),
                "money_words": money_words(self.dry_run, self.dry_share),
                "exchanges": [{"currency": c, **self.exchanges.get(
                    c, {"exchanges": 0, "fallen_back": 0})} for c in self.currencies()]}


def costs(engine: Engine, p: Period, by: str = "sku", limit: int = 50,
          use_rollups: bool = True) -> Costs:
    """Every term per currency over the period, and per ``by`` key the value returned and kept
    against its own sales (fees and bonuses belong to a decision, not a line: overall only)."""
    figures: dict[str, dict[str, int]] = {}
    with rollups.reading(engine) as conn:
        sales = {cur: int(v or 0) for cur, v in conn.execute(_sales(p, use_rollups))}
        for t in TERMS:
            for cur, v in conn.execute(t.query(p, use_rollups)):
                figures.setdefault(cur, {})[t.name] = int(v or 0)
        counts = {cur: {"exchanges": int(n or 0), "fallen_back": int(fell or 0)}
                  for cur, n, fell in conn.execute(_exchange_counts(p))}
    per = reasons(engine, p, by, limit=limit, use_rollups=use_rollups)
    by_product = [{"key": r.key, "name": r.name, "currency": r.currency, "sales": r.sales,
                   "money_returned": r.money_returned, "money_kept": r.money_kept,
                   "share_of_sales_bp": rate_bp(r.money_returned, r.sales),
                   "money_test_mode": r.money_test} for r in per.rows]
    return Costs(p, sales, figures, by_product, counts, per.dry_run, per.dry_share,
                 per.test_share)
