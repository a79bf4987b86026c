"""A month of a shop under ``no-hassle``, replayed through the storefront endpoint: how many
returns are decided without a person, for normal customers and for serial returners, and why
each review was opened.

    python bench/replay_month.py [--orders 5000] [--seed 13] [--json]

Deterministic for a seed. Customers (3% of them serial returners) first
have their earlier orders of the past year (a fifth of them returned; a serial returner's
mostly), then place ``--orders`` orders over 30 days (mostly USD, some EUR, GBP and JPY; loyal
customers place many); about a quarter of the month's orders come back, for the shop's
mistakes (damaged, defective, wrong item, not as described, not received) or a change of mind,
sizing or "other", as refund or store credit. Every event is signed and sent to
``POST /webhooks/storefront`` of the real app (Flask test client) on a SQLite file, the
service's clock at the event's time. Reviews stay open (no person looks during the month), so
they never count against the customer's next request. Prints the share decided without a
person per group and the reviews by signal, read back from the ledger.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from refunds_plugin.bootstrap import build  # noqa: E402
from refunds_plugin.config import load_config  # noqa: E402
from refunds_plugin.ledger.tables import decisions  # noqa: E402
from webhooks import create_app, signatures  # noqa: E402

SECRET = "whsec_replay"
START = datetime(2026, 10, 1, tzinfo=UTC)
# currency, share of orders, what 1.00 USD is in its minor units (JPY has no minor unit)
CURRENCIES = (("USD", 0.85, 100), ("EUR", 0.06, 100), ("GBP", 0.05, 85), ("JPY", 0.04, 150))
OUR_FAULT = ("damaged", "defective", "wrong_item", "not_as_described", "not_received")
THEIRS = ("changed_mind", "too_small", "too_large", "other")
PRODUCTS = (("TEE", "T-shirt", 18), ("SOCKS", "Socks", 9), ("JEANS", "Jeans", 79),
            ("DRESS", "Dress", 95), ("SHOES", "Shoes", 120), ("SCARF", "Scarf", 25),
            ("MUG", "Mug", 14), ("JACKET", "Jacket", 160))


@dataclass
class Customer:
    id: str
    serial: bool
    loyal: bool
    currency: str
    rate: int


@dataclass
class Report:
    decided: Counter[str] = field(default_factory=Counter)  # group -> returns decided alone
    total: Counter[str] = field(default_factory=Counter)  # group -> returns
    signals: Counter[str] = field(default_factory=Counter)  # signal (or review code) -> reviews
    reviews: int = 0
    unexplained: int = 0  # reviews with neither a signal nor another review code
    orders: int = 0
    returns: int = 0

    def share(self, group: str) -> float:
        return self.decided[group] / self.total[group] if self.total[group] else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "returns": self.returns, "reviews": self.reviews,
                "unexplained_reviews": self.unexplained,
                "without_a_person": {g: {"decided": self.decided[g], "of": self.total[g],
                                         "share": round(self.share(g), 4)}
                                     for g in ("normal", "serial", "all")},
                "reviews_by_signal": dict(self.signals.most_common())}


def _customers(rng: random.Random, count: int) -> list[Customer]:
    out = []
    for i in range(count):
        roll, acc = rng.random(), 0.0
        cur, rate = CURRENCIES[0][0], CURRENCIES[0][2]
        for code, share, r in CURRENCIES:
            acc += share
            if roll < acc:
                cur, rate = code, r
                break
        out.append(Customer(f"cus-{i}", rng.random() < 0.03, rng.random() < 0.05, cur, rate))
    return out


DELIVERY = timedelta(days=3)  # from payment to the customer's door


def _paid_then_delivered(at: Any, paid: datetime, order: dict[str, Any]) -> None:
    """``order.paid`` when it is paid, then again (an update) once delivered: the service
    refuses an order dated ahead of its clock, so the delivery date is sent when it is true."""
    at(paid, "order.paid",
       {"order": {k: v for k, v in order["order"].items() if k != "delivered_at"}}, None)
    at(paid + DELIVERY, "order.paid", order, None)


def _order(rng: random.Random, c: Customer, order_id: str, paid: datetime) -> dict[str, Any]:
    lines = []
    for n, (sku, name, usd) in enumerate(rng.sample(PRODUCTS, rng.choice((1, 1, 2, 2, 3)))):
        unit = usd * c.rate if c.currency == "JPY" else usd * c.rate - 1  # 17.99, 1530 JPY
        lines.append({"id": f"l{n + 1}", "sku": sku, "name": name,
                      "quantity": rng.choice((1, 1, 1, 2)), "unit_amount": unit})
    shipping = 5 * c.rate
    total = sum(ln["quantity"] * ln["unit_amount"] for ln in lines) + shipping
    return {"order": {
        "id": order_id, "currency": c.currency, "paid_at": paid.isoformat(),
        "delivered_at": (paid + DELIVERY).isoformat(),
        "customer": {"id": c.id, "email": f"{c.id}@example.com"}, "lines": lines,
        "shipping_amount": shipping, "total_amount": total,
        "payment": {"provider": "stripe", "reference": f"pay-{order_id}", "amount": total}}}


def _return(rng: random.Random, c: Customer, order: dict[str, Any], n: int) -> dict[str, Any]:
    fault_share = 0.25 if c.serial else 0.35
    lines = order["order"]["lines"]
    asked = []
    # a serial returner mostly sends the whole order back ("wardrobing"); others one item
    whole = c.serial and rng.random() < 0.7
    some = len(lines) if whole else 1 if len(lines) == 1 or rng.random() < 0.8 else 2
    for ln in rng.sample(lines, some):
        reason = rng.choice(OUR_FAULT) if rng.random() < fault_share else \
            rng.choices(THEIRS, weights=(45, 22, 22, 11))[0]
        units = ln["quantity"] if whole else rng.randint(1, ln["quantity"])
        asked.append({"line_id": ln["id"], "quantity": units, "reason": reason})
    return {"return": {"id": f"ret-{n}", "order_id": order["order"]["id"], "lines": asked,
                       "preferred_resolution": "credit" if rng.random() < 0.3 else "refund"}}


def replay(orders: int = 5000, seed: int = 13, db_url: str | None = None) -> Report:
    rng = random.Random(seed)
    customers = _customers(rng, max(10, orders // 3))
    clock = {"now": START}
    url = db_url or f"sqlite:///{tempfile.mkdtemp(prefix='refunds-replay-')}/replay.db"
    config = load_config(env={}, overrides={
        "database_url": url, "storefront_secret": SECRET, "policy": "preset:no-hassle",
        "run_executor": False, "testing": True, "secret_key": "replay", "log_level": "WARNING"})
    app = create_app(runtime=build(config, clock=lambda: clock["now"]))
    client = app.test_client()
    timeline: list[tuple[datetime, int, str, dict[str, Any], Customer | None]] = []
    seq = 0

    def at(when: datetime, type_: str, data: dict[str, Any], who: Customer | None) -> None:
        nonlocal seq
        seq += 1
        timeline.append((when, seq, type_, data, who))

    # the past year: loyal customers have many orders; serial returners sent most back
    past = 0
    for c in customers:
        for k in range(rng.randint(20, 50) if c.loyal else rng.randint(0, 6)):
            paid = START - timedelta(days=rng.randint(25, 360), hours=k)
            order = _order(rng, c, f"{c.id}-old-{k}", paid)
            _paid_then_delivered(at, paid, order)
            if rng.random() < (0.8 if c.serial else 0.2):
                past += 1
                at(paid + timedelta(days=rng.randint(4, 20)), "return.requested",
                   _return(rng, c, order, -past), None)
    # the month: loyal customers order more often; serial returners return most orders
    weights = [6 if c.loyal else 2 if c.serial else 1 for c in customers]
    report = Report(orders=orders)
    for n in range(orders):
        c = rng.choices(customers, weights=weights)[0]
        paid = START + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
        order = _order(rng, c, f"ord-{n}", paid)
        _paid_then_delivered(at, paid, order)
        if rng.random() < (0.8 if c.serial else 0.23):
            asked = paid + timedelta(days=rng.randint(4, 20), minutes=rng.randint(0, 600))
            at(asked, "return.requested", _return(rng, c, order, n), c)
    timeline.sort(key=lambda t: (t[0], t[1]))
    groups: dict[str, str] = {}
    for when, n, type_, data, who in timeline:
        clock["now"] = when
        body = json.dumps({"id": f"evt-{n}", "type": type_, "data": data}).encode()
        resp = client.post("/webhooks/storefront", data=body, headers={
            "Refunds-Signature": signatures.sign(SECRET, body), "Content-Type": "application/json"})
        if resp.status_code not in (200, 201):
            raise SystemExit(f"{type_} {n}: HTTP {resp.status_code} {resp.get_data(as_text=True)}")
        if who is not None:  # the month's returns; earlier ones are history only
            groups[data["return"]["order_id"]] = "serial" if who.serial else "normal"
    _read_back(app.extensions["refunds"].engine, groups, report)
    return report


def _read_back(engine: Any, groups: dict[str, str], report: Report) -> None:
    d = decisions.c
    with engine.connect() as conn:
        rows = conn.execute(select(d.order_id, d.outcome, d.reason_code, d.body)
                            .where(d.kind == "return")).all()
    for order_id, outcome, code, body in rows:
        group = groups.get(order_id)
        if group is None:
            continue
        report.returns += 1
        for g in (group, "all"):
            report.total[g] += 1
            report.decided[g] += outcome != "review"
        if outcome != "review":
            continue
        report.reviews += 1
        trace = json.loads(body)["trace"]
        named = [s for r in trace if r["verdict"] == "review"
                 for s in (r["saw"].get("signals") or [r["code"]])]
        report.unexplained += not named or code == "abuse_signal" and not any(
            r["saw"].get("findings") for r in trace if r["code"] == "abuse_signal")
        report.signals.update(named)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = replay(args.orders, args.seed)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(f"no-hassle, seed {args.seed}: {report.orders} orders in the month, "
          f"{report.returns} returns, {report.reviews} reviews")
    for group in ("normal", "serial", "all"):
        print(f"  decided without a person, {group:6s}: {report.decided[group]:5d} of "
              f"{report.total[group]:5d}  {report.share(group):.1%}")
    print("  reviews by signal:")
    for signal, count in report.signals.most_common():
        print(f"    {signal:22s} {count:4d}")
    print(f"  reviews without a signal named: {report.unexplained}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
