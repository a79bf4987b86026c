"""SQLite group commit: writers share one commit, each in its own savepoint, answered after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from refunds_plugin.ledger import group_commit
from refunds_plugin.ledger.db import _GROUPS, make_engine, write_tx
from refunds_plugin.ledger.journal import insert_ignore, record_event
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import events, reviews


@pytest.fixture
def engine(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # These tests line writers up with events, not with time: a batch stays open for them
    # however slowly a loaded machine schedules their threads (15 ms in production).
    monkeypatch.setattr(group_commit, "MAX_OPEN_S", 30.0)
    eng = make_engine(sqlite_url)
    migrate(eng)
    yield eng
    eng.dispose()


def recorded(engine: Engine) -> list[str]:
    with engine.connect() as conn:  # another connection: sees only what was committed
        return sorted(conn.execute(select(events.c.event_id)).scalars())


def commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


def writer(
    engine: Engine, work: Callable[[Any], None], out: dict[str, Any], name: str
) -> threading.Thread:
    def run() -> None:
        try:
            with write_tx(engine) as conn:
                work(conn)
            out[name] = ("ok", recorded(engine))  # what is committed when it is answered
        except Exception as exc:  # noqa: BLE001 - the test inspects what each writer got
            out[name] = ("error", exc)

    return threading.Thread(target=run, name=name)


def record(event_id: str, now: datetime) -> Callable[[Any], None]:
    def work(conn: Any) -> None:
        record_event(conn, "storefront", event_id, "order.paid", "{}", now)

    return work


def wait_for_waiters(engine: Engine, count: int) -> None:
    deadline = time.monotonic() + 10
    while _GROUPS[engine].waiting < count:
        assert time.monotonic() < deadline, "the other writers never queued"
        time.sleep(0.005)


def one_batch(engine: Engine, out: dict[str, Any], first: Callable[[Any], None],
              **later: Callable[[Any], None]) -> None:
    """Writer "a" runs ``first``, then starts the ``later`` writers (by name) and waits until
    they queue behind it, so all of them join a's batch; returns when every writer is answered."""
    threads = [writer(engine, work, out, name) for name, work in later.items()]

    def a_waits_for_the_others(conn: Any) -> None:
        first(conn)
        for t in threads:
            t.start()
        wait_for_waiters(engine, len(threads))

    a = writer(engine, a_waits_for_the_others, out, "a")
    a.start()
    for t in (a, *threads):
        t.join(20)


def test_a_failing_writer_rolls_back_only_its_own_work_and_the_rest_share_one_commit(
    engine: Engine, now: datetime
) -> None:
    out: dict[str, Any] = {}
    seen = commits(engine)

    def b_fails(conn: Any) -> None:
        record("evt_b", now)(conn)
        raise ValueError("evt_b refused after writing")

    one_batch(engine, out, record("evt_a", now), b=b_fails, c=record("evt_c", now))

    assert recorded(engine) == ["evt_a", "evt_c"]
    assert len(seen) == 1  # one commit for the three writers
    # a is answered only after the commit that holds c's work too
    assert out["a"] == ("ok", ["evt_a", "evt_c"]) and out["c"] == ("ok", ["evt_a", "evt_c"])
    assert out["b"][0] == "error" and str(out["b"][1]) == "evt_b refused after writing"


def test_when_the_shared_commit_fails_every_writer_in_it_gets_the_error_and_nothing_is_kept(
    engine: Engine, now: datetime
) -> None:
    out: dict[str, Any] = {}

    def dangling_review(conn: Any) -> None:
        record("evt_b", now)(conn)
        # checked at COMMIT, not at the savepoint: the shared commit itself fails
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        insert_ignore(conn, reviews, {"decision_id": "no-such-decision", "status": "open",
                                      "reason": "x", "opened_at": now})

    later = writer(engine, dangling_review, out, "b")

    def a_waits(conn: Any) -> None:
        record("evt_a", now)(conn)
        later.start()
        wait_for_waiters(engine, 1)

    first = writer(engine, a_waits, out, "a")
    first.start()
    first.join(20)
    later.join(20)

    assert recorded(engine) == []
    assert out["a"][0] == "error" and out["b"][0] == "error"
    assert "FOREIGN KEY constraint failed" in str(out["a"][1])
    with write_tx(engine) as conn:  # the group recovers: the next writer commits normally
        record("evt_d", now)(conn)
    assert recorded(engine) == ["evt_d"]


def test_a_write_transaction_inside_another_on_the_same_thread_is_refused_not_hung(
    engine: Engine, now: datetime
) -> None:
    with pytest.raises(RuntimeError, match="write_tx inside write_tx"), write_tx(engine) as conn:
        record("evt_outer", now)(conn)
        with write_tx(engine):
            pass
    assert recorded(engine) == []


def test_a_batch_moves_the_seal_record_once_to_its_newest_entry_and_it_verifies(
    engine: Engine, now: datetime
) -> None:
    """The journal's seal record (``ledger_seal``) moves with the chain's tail once per batch,
    just before its commit: after a batch whose last member rolled back its entry, it names the
    newest entry kept, and ``ledger verify`` passes."""
    from refunds_plugin.finance.verify import verify_ledger
    from refunds_plugin.ledger.journal import append_entry
    from refunds_plugin.ledger.tables import ledger_entries, ledger_seal

    out: dict[str, Any] = {}
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_: statements.append(sql))

    def entry(name: str, fail: bool = False) -> Callable[[Any], None]:
        def work(conn: Any) -> None:
            append_entry(conn, "note", name, {"n": name}, now)
            if fail:
                raise ValueError(f"{name} refused after writing")
        return work

    one_batch(engine, out, entry("a"), b=entry("b"), c=entry("c", fail=True))

    assert out["a"][0] == out["b"][0] == "ok" and out["c"][0] == "error"
    with engine.connect() as conn:
        kept = conn.execute(select(ledger_entries.c.subject_id, ledger_entries.c.seq,
                                   ledger_entries.c.hash)
                            .order_by(ledger_entries.c.seq)).all()
        seal = conn.execute(select(ledger_seal.c.seq, ledger_seal.c.hash)).one()
    assert [k.subject_id for k in kept] == ["a", "b"]
    assert (seal.seq, seal.hash) == (kept[-1].seq, kept[-1].hash)
    assert sum("INSERT INTO ledger_seal" in sql for sql in statements) == 1  # once, for all
    assert list(verify_ledger(engine)) == []
