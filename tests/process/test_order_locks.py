"""Money checks are serialised per order on PostgreSQL, and the journal stays tamper-evident
without a global lock: processes deciding at once for one order never refund more than was
captured, one order's lock never holds up another order's decision, and ``verify`` still names
an edited, deleted, inserted or reordered entry of a ledger several processes wrote at once."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from refunds_plugin.finance.verify import unsealed_entries, verify_ledger
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.db import lock_order
from refunds_plugin.ledger.tables import decisions, ledger_entries, refund_attempts
from webhooks import create_app, signatures

pytestmark = pytest.mark.slow
SECRET = "whsec_order_locks"
CAPTURED = 2500
ENTRIES_PER_ORDER = 4  # its total and payment (order.paid), the approved decision, its attempt
UNITS_GONE = "line l1: a return has already been requested for every unit of Shirt"


@contextmanager
def client_for(db_url: str) -> Iterator[FlaskClient]:
    app = create_app({"database_url": db_url, "storefront_secret": SECRET, "run_executor": False,
                      "testing": True, "secret_key": "order-locks"})
    try:
        yield app.test_client()
    finally:
        app.extensions["refunds"].engine.dispose()


def post(client: FlaskClient, event_id: str, type_: str, data: dict[str, Any]
         ) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"id": event_id, "type": type_, "data": data}).encode()
    resp = client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(SECRET, body), "Content-Type": "application/json"})
    return resp.status_code, dict(resp.get_json())


def pay(client: FlaskClient, order_id: str) -> None:
    code, _ = post(client, f"evt_paid_{order_id}", "order.paid", {"order": {
        "id": order_id, "currency": "EUR", "paid_at": "2026-11-01T10:00:00+00:00",
        "delivered_at": "2026-11-02T10:00:00+00:00",
        "customer": {"id": f"cus_{order_id}", "email": f"{order_id}@example.com"},
        "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                   "unit_amount": CAPTURED}],
        "shipping_amount": 0, "total_amount": CAPTURED,
        "payment": {"provider": "stripe", "reference": f"pay_{order_id}",
                    "amount": CAPTURED}}})
    assert code == 200


def ask(client: FlaskClient, order_id: str, who: str) -> tuple[int, dict[str, Any]]:
    return post(client, f"evt_{who}_{order_id}", "return.requested", {"return": {
        "id": f"r-{who}-{order_id}", "order_id": order_id,
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]}})


def _asker(db_url: str, who: str, orders: list[str], start: Any, out: Any) -> None:
    """A child process: its own app, engine and connections; waits for the others, then asks
    for a return of every unit of each order."""
    with client_for(db_url) as client:
        start.wait()
        out.put((who, [(order, *ask(client, order, who)) for order in orders]))


def run_askers(db_url: str, orders: list[str], askers: list[tuple[str, list[str]]]
               ) -> dict[str, list[tuple[str, int, dict[str, Any]]]]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(len(askers)), ctx.Queue()
    procs = [ctx.Process(target=_asker, args=(db_url, who, mine, start, out))
             for who, mine in askers]
    for p in procs:
        p.start()
    answers = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return answers


@pytest.fixture
def paid(pg: Engine) -> Iterator[tuple[str, list[str]]]:
    url = pg.url.render_as_string(hide_password=False)
    orders = [f"o{n:02d}" for n in range(12)]
    with client_for(url) as client:
        for order in orders:
            pay(client, order)
    yield url, orders


def test_two_processes_asking_for_one_order_at_once_never_refund_more_than_captured(
    paid: tuple[str, list[str]], pg: Engine
) -> None:
    url, orders = paid
    answers = run_askers(url, orders, [("a", orders), ("b", list(reversed(orders)))])
    by_order: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for said in answers.values():
        for order, code, body in said:
            by_order.setdefault(order, []).append((code, body))
    for order in orders:
        codes = sorted(code for code, _ in by_order[order])
        assert codes == [201, 400], (order, by_order[order])
        refused = next(body for code, body in by_order[order] if code == 400)
        assert refused == {"error": {"code": "invalid_line", "message": UNITS_GONE}}
    with pg.connect() as conn:
        rows = conn.execute(select(decisions.c.order_id, decisions.c.outcome,
                                   decisions.c.refund_amount)).all()
        paid_out = conn.execute(select(refund_attempts.c.order_id, refund_attempts.c.amount)).all()
    assert sorted(rows) == [(o, "approve", CAPTURED) for o in orders]
    assert sorted(paid_out) == [(o, CAPTURED) for o in orders]  # never more than captured
    assert verify_ledger(pg) == [] and unsealed_entries(pg) == 0


def _waiting_on_advisory_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")).scalar_one())


def test_a_held_order_lock_holds_up_that_order_only(pg: Engine) -> None:
    url = pg.url.render_as_string(hide_password=False)
    with client_for(url) as client:
        pay(client, "held")
        pay(client, "free")
    holder = pg.connect()
    holder.begin()
    lock_order(holder, "held")  # an open transaction deciding for "held", as long as we like
    try:
        # another order's decision completes while "held" stays locked
        with client_for(url) as client:
            code, body = ask(client, "free", "x")
        assert (code, body["outcome"], body["amount"]) == (201, "approve", CAPTURED)

        done: list[tuple[int, dict[str, Any]]] = []

        def decide_held() -> None:
            with client_for(url) as other:
                done.append(ask(other, "held", "y"))

        blocked = threading.Thread(target=decide_held)
        blocked.start()
        while not _waiting_on_advisory_lock(pg):  # the same order's decision waits for the lock
            assert blocked.is_alive()
            blocked.join(0.05)
        assert done == []
    finally:
        holder.rollback()
        holder.close()
    blocked.join(60)
    assert [(c, b["outcome"]) for c, b in done] == [(201, "approve")]
    assert verify_ledger(pg) == []


def tamper(engine: Engine, *statements: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql in statements:
            conn.execute(text(sql), params)


def entries(engine: Engine) -> list[Any]:
    le = ledger_entries.c
    with engine.connect() as conn:
        return list(conn.execute(select(le.seq, le.entry_type, le.subject_id, le.body, le.hash)
                                 .order_by(le.seq)))


@pytest.fixture
def written_at_once(paid: tuple[str, list[str]], pg: Engine) -> Engine:
    """Three processes deciding returns at once, each for its own orders and all for the same
    few: a sealed chain whose entries were written concurrently."""
    url, orders = paid
    run_askers(url, orders, [("a", orders[:6]), ("b", orders[3:9]), ("c", orders[6:] + orders[:3])])
    rows = entries(pg)
    assert len(rows) == ENTRIES_PER_ORDER * len(orders)
    assert all(r.hash is not None for r in rows) and verify_ledger(pg) == []
    return pg


def first_problem(engine: Engine) -> tuple[str, str]:
    problem = verify_ledger(engine)[0]
    return problem.where, problem.problem


def test_verify_names_an_edited_entry_written_concurrently(written_at_once: Engine) -> None:
    seq = entries(written_at_once)[-5].seq
    tamper(written_at_once, "UPDATE ledger_entries SET body = replace(body, '2500', '2400') "
           "WHERE seq = :s", s=seq)
    assert first_problem(written_at_once) == (f"entry {seq}", "edited")


def test_verify_names_where_a_deleted_entry_was(written_at_once: Engine) -> None:
    rows = entries(written_at_once)
    tamper(written_at_once, "DELETE FROM ledger_entries WHERE seq = :s", s=rows[10].seq)
    assert first_problem(written_at_once) == (f"entry {rows[11].seq}", "missing_or_reordered")


def test_verify_names_an_entry_inserted_with_its_own_hash(written_at_once: Engine) -> None:
    rows = entries(written_at_once)
    after = rows[7]
    body = chain.canonical({"decision": {"amount": 99}, "order_id": "o00", "request_key": "x"})
    forged = chain.entry_hash(after.hash, "decision", "forged", body)
    nxt = rows[8].seq + 1000
    tamper(written_at_once,  # relinked: the next entry now points back to the forged one
           "UPDATE ledger_entries SET seq = seq + 1000 WHERE seq > :s",
           "UPDATE ledger_entries SET prev_hash = :h WHERE seq = :nxt",
           "INSERT INTO ledger_entries (seq, entry_type, subject_id, body, prev_hash, hash, "
           "created_at) VALUES (:n, 'decision', 'forged', :b, :p, :h, now())",
           s=after.seq, nxt=nxt, n=after.seq + 1, b=body, p=after.hash, h=forged)
    assert first_problem(written_at_once) == (f"entry {nxt}", "edited")


def test_verify_names_an_unsealed_entry_slipped_inside_the_sealed_chain(
    written_at_once: Engine,
) -> None:
    rows = entries(written_at_once)
    tamper(written_at_once,
           "UPDATE ledger_entries SET seq = seq + 1000 WHERE seq > :s",
           "INSERT INTO ledger_entries (seq, entry_type, subject_id, body, created_at) "
           "VALUES (:n, 'decision', 'forged', '{}', now())", s=rows[7].seq, n=rows[7].seq + 1)
    # the walk sees the chain hold around it (rows renumbered keep their links), yet a waiting
    # entry can only come after every sealed one
    assert first_problem(written_at_once) == (f"entry {rows[7].seq + 1}", "inserted")


def test_verify_names_two_entries_put_in_each_others_place(written_at_once: Engine) -> None:
    rows = entries(written_at_once)
    a, b = rows[4].seq, rows[5].seq
    tamper(written_at_once,
           "UPDATE ledger_entries SET seq = -1 WHERE seq = :a",
           "UPDATE ledger_entries SET seq = :a WHERE seq = :b",
           "UPDATE ledger_entries SET seq = :b WHERE seq = -1", a=a, b=b)
    assert first_problem(written_at_once) == (f"entry {a}", "broken_link")
