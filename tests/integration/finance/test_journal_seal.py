"""PostgreSQL's journal entries are sealed into the chain after commit, in ``seq`` order, by the
writer's process's background sealer: the writer is answered without waiting for it (even while
sealing is blocked); entries a crashed writer left behind are named by ``verify`` and sealed by
the next round or ``refunds ledger seal``; a rolled-back number is skipped; and the sealed chain
is the one the old code wrote (same hashes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, event, inspect, select, text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import chain_head, unsealed_entries, verify_ledger
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.migrate import alembic_config, head_revision, migrate
from refunds_plugin.ledger.seal import SEAL_KEY, seal_round, settle
from refunds_plugin.ledger.tables import ledger_entries
from tests.conftest import _truncate
from tests.fakes.finance_scene import Scene
from tests.fakes.shop import Shop


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    _truncate(pg_migrated)
    yield pg_migrated


def rows(engine: Engine) -> list[tuple[int, str, str | None, str | None]]:
    le = ledger_entries.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(le.seq, le.subject_id, le.prev_hash, le.hash).order_by(le.seq))]


def crashed_writer(engine: Engine, *subjects: str, now: datetime) -> None:
    """Entries committed by a writer that died before its seal (not through ``write_tx``)."""
    with engine.begin() as conn:
        for subject in subjects:
            append_entry(conn, "note", subject, {"said": subject}, now)


def ledger(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ledger", *args], env={"REFUNDS_DATABASE_URL": db_url})
    return result.exit_code, result.output


def test_a_writers_entries_are_sealed_after_its_commit_as_the_old_chain_had_them(
    pg: Engine, now: datetime
) -> None:
    with write_tx(pg) as conn:
        append_entry(conn, "note", "a", {"n": 1}, now)
        append_entry(conn, "note", "b", {"n": 2}, now)
    assert settle(pg)  # the background sealer's round after that commit is done
    first = chain.entry_hash(chain.GENESIS, "note", "a", '{"n":1}')
    second = chain.entry_hash(first, "note", "b", '{"n":2}')
    assert rows(pg) == [(1, "a", chain.GENESIS, first), (2, "b", first, second)]
    head = chain_head(pg)
    assert head is not None and head.anchor == f"2:{second}"


def test_a_decision_is_answered_while_sealing_is_blocked_and_sealed_once_it_is_free(
    pg: Engine, now: datetime
) -> None:
    shop = Shop(pg.url.render_as_string(hide_password=False), now)
    shop.order("o-1", 2500, "ann@example.com")
    engine = shop.runtime.engine
    sent: list[tuple[int, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append((threading.get_ident(), statement))

    holder = pg.connect()  # another process sealing, for as long as this test likes
    holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_KEY})
    try:
        answer = shop.ask_return("o-1", "r-1", settled=False)
        assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2500)
        request = [sql for thread, sql in sent if thread == threading.get_ident()]
        # its entries: in the statement that writes its rows (``inserts.together``)
        assert any("INSERT INTO ledger_entries" in sql for sql in request)
        assert not [sql for sql in request if "pg_try_advisory" in sql or "pg_locks" in sql
                    or sql.startswith("UPDATE ledger_entries")]  # no sealing on its path
        # the order's total and payment (1, 2: sealed with order.paid), then the decision's
        assert [(seq, digest is None) for seq, _, _, digest in rows(pg)] == [
            (1, False), (2, False), (3, True), (4, True)]
        head = chain_head(pg)  # the order's entries only
        assert verify_ledger(pg) == [] and unsealed_entries(pg) == 2
        assert head is not None and head.seq == 2
        scene = Scene(shop, create_token(engine, "Ada Admin", "admin", now).secret, "", "", "")
        page = scene.login(scene.admin).get(f"/finance/decisions/{answer['decision_id']}")
        assert page.get_data(as_text=True).count(
            '<td class="text">not sealed yet (sealed into the chain moments after its commit)'
            "</td>") == 2
    except BaseException:
        engine.dispose()  # not left for a later test's garbage collection to close
        raise
    finally:
        holder.rollback()
        holder.close()
    try:
        assert settle(engine)
        assert [digest is not None for *_, digest in rows(pg)] == [True, True, True, True]
        assert unsealed_entries(pg) == 0 and verify_ledger(pg) == []
        head = chain_head(pg)
        assert head is not None and head.seq == 4
    finally:
        engine.dispose()


def test_entries_a_crashed_writer_left_are_named_then_sealed_by_the_command(
    pg: Engine, now: datetime
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    with write_tx(pg) as conn:
        append_entry(conn, "note", "a", {"n": 1}, now)
    assert settle(pg)  # sealed, and the sealer idle: nothing seals b and c until asked
    crashed_writer(pg, "b", "c", now=now)
    assert [r[3] is None for r in rows(pg)] == [False, True, True]
    assert verify_ledger(pg) == [] and unsealed_entries(pg) == 2
    code, out = ledger(url, "verify")
    assert code == 0
    assert out.splitlines()[0] == ("2 entries not sealed into the chain yet (checked against "
                                   "their rows; `refunds ledger seal` seals them now)")
    head = chain_head(pg)
    assert head is not None and head.seq == 1

    assert ledger(url, "seal") == (0, "sealed 2 entries; the chain is sealed through entry 3\n")
    assert unsealed_entries(pg) == 0 and verify_ledger(pg) == []
    assert ledger(url, "seal") == (0, "sealed 0 entries; the chain is sealed through entry 3\n")


def test_a_number_rolled_back_is_skipped_and_the_next_writer_seals_past_it(
    pg: Engine, now: datetime
) -> None:
    with write_tx(pg) as conn:
        append_entry(conn, "note", "a", {"n": 1}, now)
    with pytest.raises(RuntimeError), write_tx(pg) as conn:
        append_entry(conn, "note", "lost", {"n": 2}, now)
        raise RuntimeError("the writer fails after its entry: both are rolled back")
    crashed_writer(pg, "b", now=now)  # entry 3, behind the gap where 2 was
    with write_tx(pg) as conn:  # entry 4: the round after its commit seals 3 as well
        append_entry(conn, "note", "c", {"n": 4}, now)
    assert settle(pg)
    assert [(seq, subject, digest is not None) for seq, subject, _, digest in rows(pg)] == [
        (1, "a", True), (3, "b", True), (4, "c", True)]
    assert verify_ledger(pg) == []
    assert seal_round(pg).sealed == 0


def test_a_ledger_written_before_revision_0010_verifies_and_grows_after_it(
    any_db_url: str, now: datetime
) -> None:
    shop = Shop(any_db_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    shop.ask_return("o-1", "r-1")
    shop.pay_out()
    engine = shop.runtime.engine
    cfg = alembic_config()
    with engine.begin() as conn:  # the schema as it was: every entry's hashes NOT NULL
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    columns = {c["name"]: c["nullable"] for c in inspect(engine).get_columns("ledger_entries")}
    assert (columns["prev_hash"], columns["hash"]) == (False, False)
    old = chain_head(engine)
    assert old is not None

    assert migrate(engine) == ("0005", head_revision())  # through 0010, the sealing
    with engine.connect() as conn:  # 0021 starts the seal record at the newest sealed entry
        assert tuple(conn.execute(text("SELECT seq, hash FROM ledger_seal")).one()) == (
            old.seq, old.hash)
    assert verify_ledger(engine, anchors=[(old.seq, old.hash)]) == []
    shop.order("o-2", 4000, "bob@example.com")
    shop.ask_return("o-2", "r-2")
    shop.pay_out()
    new = chain_head(engine)
    assert new is not None and new.seq > old.seq and unsealed_entries(engine) == 0
    assert verify_ledger(engine, anchors=[(old.seq, old.hash), (new.seq, new.hash)]) == []
    engine.dispose()


def test_the_seal_record_follows_the_sealer_and_an_entry_unsealed_below_it_is_named(
    pg: Engine, now: datetime
) -> None:
    crashed_writer(pg, "a", "b", now=now)
    assert seal_round(pg).sealed == 2  # the round records the newest entry it sealed
    with pg.connect() as conn:
        recorded = conn.execute(text("SELECT id, seq, hash FROM ledger_seal")).all()
    assert [tuple(r) for r in recorded] == [(1, 2, rows(pg)[1][3])]
    crashed_writer(pg, "c", now=now)  # entry 3 waits for the sealer: not a problem
    assert verify_ledger(pg) == [] and unsealed_entries(pg) == 1

    with pg.begin() as conn:  # entry 2, sealed once, has its seal erased
        conn.execute(text("UPDATE ledger_entries SET hash = NULL, prev_hash = NULL "
                          "WHERE seq = 2"))
    assert [(p.where, p.problem, p.detail) for p in verify_ledger(pg)] == [(
        "entry 2", "seal_erased", "entry 2 has no hash, but the sealer recorded the chain "
        "sealed through entry 2: its seal was erased (1 entry un-sealed)")]


def test_a_round_on_a_connection_the_server_dropped_is_tried_again_not_left_waiting(
    pg: Engine, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart drops the pooled connections: the round after this process's last commit meets
    one of them, and is tried again on a fresh one at once, rather than leaving the commit's
    entries unsealed until some later commit (there may be none: the last one before a stop)."""
    own = make_engine(pg.url.set(query={"application_name": "sealer-under-test"})
                      .render_as_string(hide_password=False))
    first, second = own.connect(), own.connect()  # two pooled connections, handed out in turn
    dropped = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
    first.close()
    second.close()
    with pg.connect() as conn:  # the server drops the one the sealer will be handed
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dropped}).scalar_one()
    with caplog.at_level("WARNING", logger="refunds.ledger"):
        with write_tx(own) as conn:  # on the first connection: the commit succeeds
            append_entry(conn, "note", "last", {"n": 1}, now)
        deadline = time.monotonic() + 10
        while unsealed_entries(pg) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert unsealed_entries(pg) == 0 and verify_ledger(pg) == []
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "a sealing round failed (trying again in 0.00 s)"]
    own.dispose()


def test_a_round_waits_for_a_writer_still_holding_an_earlier_number_then_seals_in_order(
    pg: Engine, now: datetime
) -> None:
    """Entry 2 is written but not committed when entry 3 commits: a round may not seal 3 past
    the gap. It waits for the writer of 2; once that one commits, both are sealed, 2 before 3."""
    crashed_writer(pg, "a", now=now)
    assert seal_round(pg).sealed == 1
    slow = pg.connect()
    txn = slow.begin()
    append_entry(slow, "note", "slow", {"n": 2}, now)  # entry 2, its transaction still open
    crashed_writer(pg, "quick", now=now)  # entry 3, committed

    held = seal_round(pg, wait_s=0.3)  # the writer of 2 runs all along: nothing sealed
    assert (held.sealed, held.through, held.covers, held.busy) == (0, 1, None, False)
    assert [(seq, digest is not None) for seq, _, _, digest in rows(pg)] == [
        (1, True), (3, False)]

    done: list[Any] = []
    waiting = threading.Thread(target=lambda: done.append(seal_round(pg, wait_s=10.0)))
    waiting.start()
    time.sleep(0.3)  # the round is waiting for the writer of 2
    assert not done
    txn.commit()
    slow.close()
    waiting.join(10)
    assert (done[0].sealed, done[0].through) == (2, 3)
    assert [(seq, subject, digest is not None) for seq, subject, _, digest in rows(pg)] == [
        (1, "a", True), (2, "slow", True), (3, "quick", True)]
    assert verify_ledger(pg) == []


def test_a_writer_that_ends_between_the_rounds_statements_is_sealed_in_order(
    pg: Engine, now: datetime
) -> None:
    """The writer of entry 2 commits after the round's first statement found 2 missing and
    before it reads the writers running: it is not among them, and its entry is sealed before
    3, not skipped."""
    crashed_writer(pg, "a", now=now)
    assert seal_round(pg).sealed == 1
    slow = pg.connect()
    txn = slow.begin()
    append_entry(slow, "note", "slow", {"n": 2}, now)
    crashed_writer(pg, "quick", now=now)
    statements: list[str] = []

    def commit_the_writer(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)
        if "pg_stat_activity" in statement and txn.is_active:
            txn.commit()

    event.listen(pg, "before_cursor_execute", commit_the_writer)
    try:
        lap = seal_round(pg, wait_s=5.0)
    finally:
        event.remove(pg, "before_cursor_execute", commit_the_writer)
        slow.close()

    assert sum("pg_stat_activity" in s for s in statements) == 1  # the gap was seen
    assert (lap.sealed, lap.through, lap.busy) == (2, 3, False)
    assert [(seq, subject, digest is not None) for seq, subject, _, digest in rows(pg)] == [
        (1, "a", True), (2, "slow", True), (3, "quick", True)]
    assert verify_ledger(pg) == []
