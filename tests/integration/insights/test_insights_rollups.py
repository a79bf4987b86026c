"""The rollups give the same answers as summing the indexed rows, whatever has been folded: a
generated history (three currencies, customers who come back, orders written again with other
lines, dates and customers, reviews decided and re-opened after the decision, exchanges paid,
shipped, failed, restarted and fallen back to another return after it), read over whole,
partial-day and long periods before any fold, between writes and folds, and after every fold.

Writes go through the ledger's own writers (``index_order``, ``index_return``, the review and
exchange functions), so the marks are the ones the app appends.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, insert, select

from refunds_plugin.cli import main
from refunds_plugin.domain.decision import Exchange, ExchangeLine
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.insights import costs, reasons, retention
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger import exchanges, fold, rollups
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.line_index import index_order, index_return
from refunds_plugin.ledger.reviews import close_review, open_review, record_adjustment
from refunds_plugin.ledger.tables import (
    decisions,
    insight_marks,
    money_days,
    retention_rows,
    returned_days,
    sold_days,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 9, 1, 15, 30, tzinfo=UTC)
SKUS = [("MUG", "p-mug", ("kitchen",), ("ceramic",)), ("SHIRT", "p-shirt", ("apparel",),
        ("linen", "summer")), ("SOCK", None, ("apparel",), ("wool",)),
        ("LAMP", "p-lamp", ("home", "kitchen"), ())]
CURRENCIES = ("USD", "EUR", "JPY")
REASONS = ("not_as_described", "changed_mind", "too_small", "damaged")


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    eng = make_engine(any_db_url)
    yield eng
    eng.dispose()


class Shop:
    """Writes a seeded history through the ledger's writers."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.engine, self.rng = engine, random.Random(seed)
        self.orders: dict[str, dict[str, Any]] = {}
        self.reviewed: list[str] = []
        self.returned: list[str] = []  # orders with a return
        self.exchanged: list[str] = []  # decisions whose line was swapped
        self.n = 0

    def order(self, when: datetime, who: str | None = None, currency: str | None = None
              ) -> str:
        self.n += 1
        oid = f"o-{self.n}"
        self.write_order(oid, when, who if who is not None else self.who(),
                         currency or self.rng.choice(CURRENCIES), self.lines())
        return oid

    def who(self) -> str | None:
        return self.rng.choice([None, *(f"c{i}@example.com" for i in range(12))])

    def lines(self) -> list[OrderLine]:
        picked = self.rng.sample(SKUS, self.rng.randint(1, 3))
        return [OrderLine(f"l{i}", sku, f"{sku.title()} {self.rng.randint(1, 2)}",
                          self.rng.randint(1, 3), self.rng.choice((800, 2000, 5000)),
                          tags=tags, collections=cols, product_id=product)
                for i, (sku, product, cols, tags) in enumerate(picked, 1)]

    def write_order(self, oid: str, when: datetime, who: str | None, currency: str,
                    lines: list[OrderLine]) -> None:
        self.orders[oid] = {"when": when, "who": who, "currency": currency, "lines": lines}
        with write_tx(self.engine) as conn:
            index_order(conn, order_id=oid, currency=currency, lines=lines,
                        total=sum(ln.amount for ln in lines), paid_at=when, customer=who,
                        now=when)

    def rewrite(self, oid: str, *, when: datetime | None = None, who: str | None = "same",
                lines: list[OrderLine] | None = None) -> None:
        o = self.orders[oid]
        self.write_order(oid, when or o["when"], o["who"] if who == "same" else who,
                         o["currency"], lines if lines is not None else o["lines"])

    def ret(self, oid: str, after: timedelta, swap: bool | None = None,
            outcome: str | None = None) -> str:
        """A return of the order's first line, decided ``after`` its payment; outcome at
        random, a review opened for the ``review`` ones; some approved ones exchange the line
        (its difference to pay, or waived)."""
        o, rng = self.orders[oid], self.rng
        when = o["when"] + after
        outcome = outcome or rng.choice(("approve", "approve", "decline", "review"))
        swap = outcome == "approve" and (rng.random() < 0.35 if swap is None else swap)
        resolution = rng.choice(("refund", "credit"))
        line = o["lines"][0]
        self.returned.append(oid)
        kept = rng.random() < 0.3
        did = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body = {"currency": o["currency"],
                "lines": [{"line_id": line.id, "amount": 0 if outcome == "decline" else
                           line.amount, "return_required": not kept}],
                "fees": [{"amount": rng.choice((0, 100))}],
                "resolutions": [{"kind": resolution, "bonus": rng.choice((0, 50))}]}
        charge, waived = rng.choice(((0, 0), (500, 0), (0, 300), (500, 200)))
        swapped = Exchange(lines=(ExchangeLine(line.id, 1, line.amount, "NEW", "New",
                                               line.amount + charge + waived),),
                           difference=charge + waived, charge=charge, waived=waived)
        if swap:
            body["exchange"] = {"lines": [{"line_id": line.id}]}
        request = {"lines": [{"line_id": line.id, "quantity": 1, "reason": rng.choice(REASONS)}],
                   "comment": rng.choice(("", "Too dark"))}
        with write_tx(self.engine) as conn:
            conn.execute(insert(decisions).values(
                id=did, order_id=oid, request_key=f"return:{did}", kind="return",
                outcome=outcome, resolution=resolution, currency=o["currency"],
                amount=line.amount, refund_amount=0, credit_amount=0, reason_code="test",
                policy_name="test", policy_hash="0" * 64, explanation="", body=json.dumps(body),
                facts="{}", request=json.dumps(request), created_at=when))
            index_return(conn, decision_id=did,
                         decision=cast(Any, SimpleNamespace(kind=DecisionKind.RETURN)),
                         body=body, request=request, order_id=oid, customer=o["who"], now=when)
            if outcome == "review":
                open_review(conn, did, "a person looks", when)
                self.reviewed.append(did)
            if swap:
                exchanges.open_exchange(conn, did, oid, o["currency"], swapped, when)
                self.exchanged.append(did)
        return did

    def move_exchanges(self) -> None:
        """Each exchange a step on: paid (or shipped), fallen back to a return decided in its
        place (unpaid, or out of stock), failed, failed and restarted, or left as it is."""
        for i, did in enumerate(self.exchanged):
            with self.engine.connect() as conn:
                row = exchanges.get_exchange(conn, did)
            assert row is not None
            instead = None
            if i % 5 == 1 and row.status in ("awaiting_payment", "waiting"):
                oid = row.order_id
                instead = self.ret(oid, NOW - self.orders[oid]["when"], swap=False)
            with write_tx(self.engine) as conn:
                if i % 5 == 0:
                    if row.status == "awaiting_payment":
                        exchanges.settle_payment(conn, row, row.charge_amount, row.currency, NOW)
                    elif row.status == "waiting":
                        exchanges.reach(conn, row, "first_scan", NOW)
                elif instead is not None and row.status == "awaiting_payment":
                    exchanges.fall_back(conn, row, instead, NOW)
                elif instead is not None:
                    exchanges.out_of_stock(conn, row, instead, "sold out", NOW)
                elif i % 5 in (2, 3):
                    exchanges.note_failure(conn, row, "boom", NOW, give_up=True)
                    if i % 5 == 3:
                        failed = exchanges.get_exchange(conn, did)
                        assert failed is not None
                        exchanges.restart(conn, failed, NOW)

    def decide(self, did: str, status: str, credit: bool = False) -> None:
        with write_tx(self.engine) as conn:
            close_review(conn, did, status, "admin", "", NOW)
            if credit:
                record_adjustment(conn, did, cast(Any, SimpleNamespace(
                    resolution_summary="credit", amount=1, refund_amount=0, credit_amount=1,
                    fees=(), resolutions=())))

    def reopen(self, did: str) -> None:
        with write_tx(self.engine) as conn:
            open_review(conn, did, "the payout failed", NOW)


def history(shop: Shop, orders: int, start: datetime, days: int) -> list[str]:
    made = []
    for _ in range(orders):
        when = start + timedelta(seconds=shop.rng.randrange(days * 86_400))
        oid = shop.order(when)
        made.append(oid)
        if shop.rng.random() < 0.4:
            shop.ret(oid, timedelta(hours=shop.rng.randint(1, 24 * 20)))
    return made


def periods() -> list[Period]:
    d = timedelta
    return [Period(START, NOW),  # the period before reaches back past everything
            Period(START + d(days=30), START + d(days=120)),  # whole days
            Period(START + d(days=40, hours=7, seconds=13), START + d(days=95, hours=22)),
            Period(START + d(days=61, hours=3), START + d(days=61, hours=20)),  # within a day
            Period(START + d(days=100), NOW),
            Period(datetime(1971, 1, 1, tzinfo=UTC), START + d(days=200, minutes=1))]


def answers(engine: Engine, use: bool) -> list[Any]:
    out: list[Any] = []
    for p in periods():
        for by in rollups.DIMENSIONS:
            out.append(reasons.reasons(engine, p, by, use_rollups=use).to_json())
        out.append(reasons.reasons(engine, p, "sku", "not_as_described",
                                   use_rollups=use).to_json())
        out.append(reasons.reasons(engine, p, "tag", "changed_mind", use_rollups=use).to_json())
        out.append(costs.costs(engine, p, "collection", use_rollups=use).to_json())
        for now in (NOW, p.until):
            out.append(retention.retention(engine, p, now, use_rollups=use).to_json())
    return out


def assert_exact(engine: Engine) -> list[Any]:
    rolled, direct = answers(engine, True), answers(engine, False)
    for got, want in zip(rolled, direct, strict=True):
        assert got == want
    return rolled


def endings(answer: list[Any]) -> set[str]:
    """The endings with a customer in any retention answer."""
    return {g["ending"] for a in answer if "groups" in a for g in a["groups"] if g["customers"]}


def marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(insight_marks)).scalar_one())


ROLLUPS = (sold_days, returned_days, money_days, retention_rows)


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: sorted(tuple(v for k, v in r._mapping.items() if k != "id")
                               for r in conn.execute(select(t))) for t in ROLLUPS}


def fold_all(engine: Engine) -> None:
    while fold.fold(engine, limit=7):
        pass
    assert marks(engine) == 0


def test_answers_are_exact_before_between_and_after_folds(engine: Engine) -> None:
    shop = Shop(engine, seed=17)
    made = history(shop, 60, START, 200)
    # customers who come back, in another currency too
    for who in ("c1@example.com", "c2@example.com", "c3@example.com"):
        for k in range(3):
            shop.order(START + timedelta(days=50 + 40 * k, hours=k), who, CURRENCIES[k])
    # customers whose first return is an exchange (which later goes ahead, falls back, fails)
    for k in range(10):
        oid = shop.order(START + timedelta(days=20 + 9 * k), f"x{k}@example.com", "EUR")
        shop.ret(oid, timedelta(days=2), swap=True, outcome="approve")
        shop.order(START + timedelta(days=40 + 9 * k), f"x{k}@example.com", "USD")
    assert marks(engine) > 0 and stored(engine) == {t.name: [] for t in ROLLUPS}
    assert_exact(engine)  # nothing folded: every day is read from the indexed rows

    fold.fold(engine, limit=10)  # part of the marks
    assert marks(engine) > 0
    assert_exact(engine)
    fold_all(engine)
    assert stored(engine)["sold_days"] and stored(engine)["retention_rows"]
    assert_exact(engine)

    # after the fold: reviews decided, re-opened; orders written again with other lines,
    # another payment day, another customer; an order written again unchanged marks nothing
    shop.decide(shop.reviewed[0], "approved", credit=True)
    shop.decide(shop.reviewed[1], "declined")
    shop.decide(shop.reviewed[2], "approved")
    shop.reopen(shop.reviewed[2])
    before = marks(engine)
    shop.rewrite(made[5])
    assert marks(engine) == before
    shop.rewrite(made[3], lines=shop.lines())
    # a returned line now under another SKU, product and labels: its return moves with it
    lines = shop.orders[shop.returned[0]]["lines"]
    shop.rewrite(shop.returned[0], lines=[
        replace(lines[0], sku="HAT", product_id="p-hat", tags=("felt",), collections=()),
        *lines[1:]])
    shop.rewrite(made[4], when=shop.orders[made[4]]["when"] + timedelta(days=9, hours=5))
    shop.rewrite(made[6], who="c9@example.com")
    assert_exact(engine)
    history(shop, 15, START + timedelta(days=150), 80)
    assert_exact(engine)
    fold.fold(engine, limit=4)
    assert_exact(engine)
    fold_all(engine)
    # exchanges move on after the fold: paid, fallen back, failed, restarted
    shop.move_exchanges()
    assert marks(engine) > 0
    answered = assert_exact(engine)
    assert {"exchange", "credit", "declined", "no_return"} <= endings(answered)
    whole = answered[6]  # costs over the first period, every exchange in it
    assert {r["term"] for r in whole["rows"] if r["amount"]} >= {
        "exchanged", "exchange_charged", "exchange_waived"}
    assert sum(x["fallen_back"] for x in whole["exchanges"]) > 0
    fold.fold(engine, limit=3)
    assert_exact(engine)
    fold_all(engine)
    assert_exact(engine)

    # what the folds kept equals the rollups built afresh from the indexed rows
    kept = stored(engine)
    with write_tx(engine) as conn:
        fold.build(conn)
    assert stored(engine) == kept


def test_a_writer_neither_waits_for_the_folder_nor_loses_its_change(engine: Engine) -> None:
    """PostgreSQL: a write transaction open while the folder runs (the folder does not wait
    for it, and it waits for nothing the folder holds); its mark, committed after the fold
    read the marks, stays for the next round, so the answer stays exact."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    shop = Shop(engine, seed=5)
    history(shop, 20, START, 120)
    fold_all(engine)
    conn = engine.connect()
    try:
        txn = conn.begin()
        index_order(conn, order_id="late", currency="EUR",
                    lines=[OrderLine("l1", "MUG", "Mug", 4, 8000)], total=8000,
                    paid_at=START + timedelta(days=40, hours=3), customer="c1@example.com",
                    now=NOW)
        folded = []
        folder = threading.Thread(target=lambda: folded.append(fold.fold(engine)))
        shop.order(START + timedelta(days=40, hours=5), "c2@example.com", "USD")
        folder.start()
        folder.join(timeout=30)
        assert folded == [1]  # the committed order's mark; not the open transaction's
        txn.commit()
    finally:
        conn.close()
    assert marks(engine) == 1  # the late order's mark
    assert_exact(engine)
    fold_all(engine)
    assert_exact(engine)


def test_the_fold_command_folds_every_mark_and_rebuilds_the_same_rollups(
        shop: tuple[Any, Any]) -> None:
    """``refunds insights fold`` on the hand-made shop: every mark folded (the figures the
    other tests hold stay the same), and ``--rebuild`` makes the same rollup rows again."""
    h, _ = shop
    engine = h.runtime.engine
    p = Period(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 2, 7, tzinfo=UTC))
    before = reasons.reasons(engine, p, "sku").to_json()
    waiting = marks(engine)
    assert waiting > 0
    out = CliRunner().invoke(main, ["insights", "fold"], env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.exit_code == 0, out.output
    assert out.output == f"insights: {waiting} mark(s) folded\n"
    assert marks(engine) == 0 and reasons.reasons(engine, p, "sku").to_json() == before
    kept = stored(engine)
    out = CliRunner().invoke(main, ["insights", "fold", "--rebuild"],
                             env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.output == "insights: every rollup rebuilt\n"
    assert stored(engine) == kept and kept["sold_days"]
