"""The insights on a large shop, on PostgreSQL: each query's time beside a plain ``COUNT(*)`` over
the same tables, and ``policy compare`` over every stored return request.

At ``--scale 1`` (the default) a fresh database on the local server gets, seeded:
1,000,000 orders (``customer_orders``, about 333,000 customers) with 3,000,000 order lines and
6,000,000 line labels (a collection and a tag each), 200,000 returns indexed for the insights
(``return_lines``, ``return_figures``, their attempts and reviews) and 1,000,000 stored return
decisions with the facts and request they were decided on (the 200,000 and 800,000 more), for
``policy compare``. The indexed rows come from ``generate_series`` inside the server; the
decisions are decided for real under the current policy (200 distinct cases, each evaluated
once, then repeated with their own ids and dates) and streamed in with ``COPY``. The insights'
rollups are then built from those rows as migration 0017 builds them (``fold.build``), and
each query is timed; then again with the last two days and 2,000 customers marked and not
folded (a fold lagging behind: those are read from the indexed rows).

    nice -n 10 python bench/bench_insights.py --scale 0.05      # while developing
    nice -n 10 python bench/bench_insights.py                   # the full size
    nice -n 10 python bench/bench_insights.py --url URL --skip-queries   # a --keep'd database

Targets (issue 17): each insight under 1 s; ``policy compare`` over 1,000,000 requests under
60 s on one core (this process; the server streams the rows). ``policy compare`` runs twice
over the same rows: first the plain replay (``explained=True``: JSON and every explanation
paragraph, as ``policy simulate`` decides), the baseline, then the way ``compare`` runs; the
two reports must be equal. ``--skip-plain`` leaves the baseline out (the full size).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, text

import policies
from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.insights import compare, costs, feedback, reasons, retention
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger import fold
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.decisions import decision_body, facts_json, request_json
from refunds_plugin.ledger.journal import to_json
from refunds_plugin.ledger.line_index import DAY
from refunds_plugin.ledger.migrate import migrate

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
END = datetime(2026, 12, 1, tzinfo=UTC)
SPAN_DAYS = 730
CASES = 200
SEED = 17


def fresh_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"refunds_bench_insights_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


# --- the indexed rows, made inside the server ---------------------------------------------------

def fill_orders(engine: Engine, orders: int) -> None:
    start = int((END - timedelta(days=SPAN_DAYS)).timestamp())
    step = SPAN_DAYS * 86_400 / orders
    customers = max(1, orders // 3)
    with engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO customer_orders (order_id, customer, currency, total, at)
            SELECT 'o' || i, 'c' || ((i * 7919) % {customers}) || '@example.com', 'USD',
                   1000 + (i % 97) * 150, {start} + floor(i * {step})::bigint
            FROM generate_series(1::bigint, {orders}) AS i"""))
        conn.execute(text(f"""
            INSERT INTO order_lines (order_id, line_id, sku, product_id, name, currency,
                                     quantity, amount, at)
            SELECT 'o' || i, 'l' || j, 'SKU-' || ((i * 31 + j * 17) % 2000),
                   'P-' || ((i * 31 + j * 17) % 500), 'Item ' || ((i * 31 + j * 17) % 2000),
                   'USD', 1 + (i + j) % 3, (1 + (i + j) % 3) * (500 + (i * j) % 40 * 100),
                   {start} + floor(i * {step})::bigint
            FROM generate_series(1::bigint, {orders}) AS i, generate_series(1, 3) AS j"""))
        conn.execute(text("""
            INSERT INTO order_line_labels (order_id, line_id, kind, label, currency, quantity,
                                           amount, at)
            SELECT order_id, line_id, k.kind,
                   CASE k.kind WHEN 'collection' THEN 'collection-' || (length(sku) * 7 +
                        ascii(right(sku, 1))) % 40
                   ELSE 'tag-' || ascii(right(sku, 1)) % 25 END,
                   currency, quantity, amount, at
            FROM order_lines, (VALUES ('collection'), ('tag')) AS k(kind)"""))


# --- the decisions, decided for real and streamed in --------------------------------------------

REASONS = [r for r in Reason if r is not Reason.NOT_RECEIVED]


def cases(pol: policies.Policy, rng: random.Random) -> list[dict[str, Any]]:
    """``CASES`` distinct return requests, each decided once under ``pol``, as templates whose
    ids and dates each row fills in (dates move together, so the decision stays the same)."""
    out = []
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for k in range(CASES):
        price = rng.choice((900, 2500, 4900, 12900, 35000))
        qty = rng.choice((1, 1, 2, 3))
        paid = at - timedelta(days=rng.choice((3, 10, 25, 40, 80, 200, 400)))
        line = OrderLine("l1", f"SKU-{k}", f"Item {k}", qty, price, tags=("tag",),
                         collections=("col",), product_id=f"P-{k % 50}")
        total = line.amount
        facts = OrderFacts(
            order_id="ORDER", currency="USD", lines=(line,), shipping_amount=0,
            total_amount=total, customer=Customer("CUSTID", "EMAIL"), paid_at=paid,
            fulfilled_at=paid + timedelta(days=1), delivered_at=paid + timedelta(days=2),
            payments=(PaymentFacts("stripe", "PAYREF", total),),
            history=CustomerHistory(total_paid=total * rng.choice((1, 3, 8)),
                                    order_count=rng.choice((1, 2, 6)), first_order_at=paid))
        reason = rng.choice(REASONS)
        prefer = rng.choice((None, ResolutionKind.REFUND, ResolutionKind.CREDIT))
        asked = (ReturnLine("l1", rng.randint(1, qty), reason),)
        request = ReturnRequest("REQID", "ORDER", asked, preferred_resolution=prefer,
                                comment=rng.choice(("", "", "Smaller than it looked",
                                                    "The colour is off")), requested_at=at)
        decision = policies.evaluate(pol, facts, request, at)
        body = decision_body(decision)
        bonus = sum(r.bonus for r in decision.resolutions)
        fees = sum(f.amount for f in decision.fees)
        kept = sum(ln.amount for ln in decision.lines if not ln.return_required)
        out.append({
            "facts": to_json(facts_json(facts)), "request": to_json(request_json(request)),
            # as ``to_json`` writes a datetime (``str``), so the rows can move them by text
            "anchor": str(at), "dates": [str(d) for d in (
                paid, paid + timedelta(days=1), paid + timedelta(days=2))],
            "outcome": decision.outcome.value, "resolution": decision.resolution_summary,
            "amount": decision.amount, "refund": decision.refund_amount,
            "credit": decision.credit_amount, "reason_code": decision.reason_code,
            "explanation": decision.explanation, "body": to_json(body), "bonus": bonus,
            "fees": fees, "kept": kept, "reason": reason.value, "quantity":
                request.lines[0].quantity,
            "line_amount": sum(ln.amount for ln in decision.lines),
            "comment": request.comment, "hash": pol.content_hash, "name": pol.name,
        })
    return out


def _moved(template: str, case: dict[str, Any], shift: timedelta) -> str:
    for iso in (*case["dates"], case["anchor"]):
        template = template.replace(iso, str(datetime.fromisoformat(iso) + shift))
    return template


def fill_decisions(engine: Engine, pol: policies.Policy, orders: int, returns: int, total: int,
                   rng: random.Random) -> None:
    made = cases(pol, rng)
    # each case's texts with every date moved by whole days, precomputed once per day offset
    start = END - timedelta(days=SPAN_DAYS)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        dec_cols = ("id, order_id, request_key, kind, outcome, resolution, currency, amount, "
                    "refund_amount, credit_amount, reason_code, policy_name, policy_hash, "
                    "explanation, body, facts, request, customer_id, customer_email, "
                    "created_at")
        indexed: list[tuple[Any, ...]] = []
        with cur.copy(f"COPY decisions ({dec_cols}) FROM STDIN") as copy:
            for n in range(total):
                case = made[n % CASES]
                if n < returns:  # the returns of orders o5, o10, …, 10 days after paying
                    order_number = (n + 1) * (orders // returns)
                    order_id = f"o{order_number}"
                    paid = start + timedelta(seconds=order_number * SPAN_DAYS * 86_400 / orders)
                    when = paid + timedelta(days=10)
                else:
                    order_id = f"x{n}"
                    when = start + timedelta(seconds=rng.randrange(SPAN_DAYS * 86_400))
                shift = when - datetime.fromisoformat(case["anchor"])
                did = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                email = f"c{(n * 7919) % max(1, orders // 3)}@example.com"
                facts = _moved(case["facts"], case, shift).replace("ORDER", order_id)
                request = _moved(case["request"], case, shift).replace(
                    "ORDER", order_id).replace("REQID", f"r{n}")
                copy.write_row((
                    did, order_id, f"return:r{n}", "return", case["outcome"],
                    case["resolution"], "USD", case["amount"], case["refund"], case["credit"],
                    case["reason_code"], case["name"], case["hash"], case["explanation"],
                    case["body"], facts, request, "CUSTID", email, when))
                if n < returns:
                    indexed.append((did, order_id, email, when, case))
        _index_returns(cur, indexed)
        raw.commit()
    finally:
        raw.close()


def _index_returns(cur: Any, indexed: list[tuple[Any, ...]]) -> None:
    with cur.copy("COPY return_lines (decision_id, line_id, order_id, quantity, reason, amount, "
                  "kept, at) FROM STDIN") as copy:
        for did, order_id, _, when, case in indexed:
            copy.write_row((did, "l1", order_id, case["quantity"], case["reason"],
                            case["line_amount"], int(case["kept"] > 0), int(when.timestamp())))
    with cur.copy("COPY return_figures (decision_id, customer, currency, fees, bonus, kept, "
                  "comment, at) FROM STDIN") as copy:
        for did, _, email, when, case in indexed:
            copy.write_row((did, email, "USD", case["fees"], case["bonus"], case["kept"],
                            case["comment"] or None, int(when.timestamp())))
    with cur.copy("COPY refund_attempts (id, decision_id, order_id, seq, provider, kind, "
                  "currency, amount, bonus, reason, idempotency_key, status, tries, "
                  "next_try_at, created_at, updated_at, completed_at) FROM STDIN") as copy:
        for did, order_id, _, when, case in indexed:
            if case["outcome"] != "approve" or not case["amount"]:
                continue
            kind = "credit" if case["credit"] else "refund"
            amount = case["credit"] - case["bonus"] if kind == "credit" else case["refund"]
            aid = str(uuid.uuid5(uuid.NAMESPACE_URL, did))
            done = when + timedelta(hours=2)
            copy.write_row((aid, did, order_id, 0, "stripe", kind, "USD", amount,
                            case["bonus"], "requested_by_customer", f"bench-{aid}", "succeeded",
                            1, when, when, done, done))
    with cur.copy("COPY reviews (decision_id, status, reason, opened_at) FROM STDIN") as copy:
        for did, _, _, when, case in indexed:
            if case["outcome"] == "review":
                copy.write_row((did, "open", case["reason_code"], when))


# --- timing -------------------------------------------------------------------------------------

def best_of(runs: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def queries(engine: Engine, now: datetime) -> Iterator[tuple[str, Callable[[], Any]]]:
    month = Period(now - timedelta(days=30), now)
    quarter = Period(now - timedelta(days=90), now)
    year = Period(now - timedelta(days=365), now)
    for by in reasons.DIMENSIONS:
        yield f"reasons by {by}, 30 days (and 30 before)", \
            lambda by=by: reasons.reasons(engine, month, by)
    yield "reasons by sku, 90 days", lambda: reasons.reasons(engine, quarter)
    yield "not_as_described by sku, 90 days", \
        lambda: reasons.reasons(engine, quarter, "sku", "not_as_described")
    yield "comments containing 'colour', 90 days", \
        lambda: reasons.comments(engine, quarter, "colour")
    yield "costs, 30 days", lambda: costs.costs(engine, month)
    yield "costs, 90 days", lambda: costs.costs(engine, quarter)
    yield "retention, 90 days of anchors", lambda: retention.retention(engine, quarter, now)
    yield "retention, 365 days of anchors", lambda: retention.retention(engine, year, now)
    yield "feedback, 90 days", lambda: feedback.summary(engine, quarter)


BASELINE = ("order_lines", "order_line_labels", "customer_orders", "return_lines",
            "return_figures", "decisions", "sold_days", "retention_rows")


def time_queries(engine: Engine, now: datetime, runs: int) -> None:
    worst = 0.0
    for name, work in queries(engine, now):
        took = best_of(runs, work)
        worst = max(worst, took)
        print(f"{name:48} {took * 1000:9.0f} ms")
    print(f"slowest insight: {worst * 1000:.0f} ms (target < 1000 ms)")


def lagging(engine: Engine, now: datetime) -> None:
    """Marks as a fold lagging behind leaves them: the last two days, 2,000 customers."""
    day = int(now.timestamp()) // DAY
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO insight_marks (day, customer) SELECT d, NULL FROM "
                          "generate_series(CAST(:a AS integer), CAST(:b AS integer)) AS d"),
                     {"a": day - 2, "b": day - 1})
        conn.execute(text("INSERT INTO insight_marks (day, customer) SELECT NULL, customer "
                          "FROM (SELECT DISTINCT customer FROM customer_orders "
                          "ORDER BY customer LIMIT 2000) AS c"))
        conn.execute(text("ANALYZE insight_marks"))


def timed_queries(engine: Engine, runs: int) -> None:
    print(f"\n{'query':48} {'best of ' + str(runs):>12}")
    for table in BASELINE:
        with engine.connect() as conn:
            n = 0

            def count(table: str = table) -> None:
                nonlocal n
                n = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()

            took = best_of(runs, count)
        print(f"{'baseline COUNT(*) ' + table + f' ({n:,})':48} {took * 1000:9.0f} ms")
    time_queries(engine, END, runs)


def timed_compare(engine: Engine, current: policies.Policy, candidate: policies.Policy,
                  skip_plain: bool) -> None:
    """``policy compare`` default → credit-first over every stored request: the plain replay
    (the baseline) and then compare's own way, on the same rows, CPU of this process."""
    docs = []
    for explained in (() if skip_plain else (True,)) + (False,):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        report = compare.compare(engine, current, candidate, explained=explained)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        how = "plain replay (baseline)" if explained else "compare"
        print(f"\npolicy compare default → credit-first, {how}, over {report.compared:,} "
              f"requests: {wall:.1f} s wall, {cpu:.1f} s CPU in this process (target < 60 s); "
              f"{report.differ:,} differ, {report.worse_count:,} worse")
        print(f"per request: {cpu / max(1, report.compared) * 1e6:.1f} us CPU, "
              f"{wall / max(1, report.compared) * 1e6:.1f} us wall")
        docs.append(report.to_json())
    print(json.dumps({k: v for k, v in docs[-1].items() if k != "worse"}))
    if len(docs) == 2:
        print("reports equal:", docs[0] == docs[1])


def measure(engine: Engine, args: argparse.Namespace, current: policies.Policy,
            candidate: policies.Policy, lag: bool = False) -> None:
    """The queries (with ``lag``, again with marks a lagging fold leaves), then compare."""
    if not args.skip_queries:
        timed_queries(engine, args.runs)
        if lag:
            lagging(engine, END)
            print("\nwith the last 2 days and 2,000 customers not folded yet:")
            time_queries(engine, END, args.runs)
    if not args.skip_compare:
        timed_compare(engine, current, candidate, args.skip_plain)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--admin-url", default=ADMIN)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--keep", action="store_true", help="Keep the database (its URL is printed).")
    ap.add_argument("--url", help="Time a database an earlier --keep left (read only, kept).")
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--skip-plain", action="store_true", help="No baseline for compare.")
    args = ap.parse_args()
    orders = int(1_000_000 * args.scale)
    returns = int(200_000 * args.scale)
    requests = int(1_000_000 * args.scale)
    rng = random.Random(SEED)
    current = policies.load_policy("preset:default")
    candidate = policies.load_policy("preset:credit-first")
    if args.url:
        engine = make_engine(args.url)
        try:
            measure(engine, args, current, candidate)
        finally:
            engine.dispose()
        return
    url, drop = fresh_database(args.admin_url)
    engine = make_engine(url)
    try:
        migrate(engine)
        t0 = time.perf_counter()
        fill_orders(engine, orders)
        t1 = time.perf_counter()
        fill_decisions(engine, current, orders, returns, requests, rng)
        t2 = time.perf_counter()
        with engine.begin() as conn:
            # one customer in ten answered "How did we do?"
            conn.execute(text("""
                INSERT INTO feedback (decision_id, rating, comment, answered_at, changes)
                SELECT decision_id, 1 + abs(hashtext(decision_id)) % 5, NULL,
                       to_timestamp(at + 3600), 0
                FROM return_figures WHERE abs(hashtext(decision_id)) % 10 = 0"""))
        t3 = time.perf_counter()
        with engine.begin() as conn:
            fold.build(conn)
        t4 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"data: {orders:,} orders, {3 * orders:,} lines, {returns:,} returns, "
              f"{requests:,} stored requests; made in {t1 - t0:.1f} s (SQL) + "
              f"{t2 - t1:.1f} s (decisions, COPY); rollups built in {t4 - t3:.1f} s")
        measure(engine, args, current, candidate, lag=True)
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()


if __name__ == "__main__":
    main()
