"""The looks that run all the time on PostgreSQL do not read through every row version VACUUM
has not cleared yet.

Sealing a journal entry, and sending or skipping a message, is an UPDATE: until VACUUM, every
index keeps an entry for the old row version too (``hash IS NULL``; ``status = 'queued'``). Under
load (bench/README.md, issue 18) the sealer's round looked for "the newest unsealed entry" through
the ``hash`` index and so visited every entry ever sealed since the last VACUUM (4.5 ms a round
at 4,600 entries, a quarter of the server's time); the courier's "anything due?" was a bitmap
scan that visited every message ever queued. The round now reads from the sealed tail forward
on the primary key (a few pages, checked here), and "anything due?" is two plain index scans
that stop at their first row (checked here by their plan) and, when no older transaction still
sees them, mark the dead entries they pass, so the next look skips them (not checked: whether
an entry may be marked depends on every other transaction of the database). Autovacuum is off
for these tables during the test, so the dead entries are all there.

The tables are analysed while half the rows wait and half are being sent (as autovacuum may,
during a burst): with those statistics each half of the look, an ``EXISTS``, was planned as a
read of the whole table, expecting an early match, and kept reading all of it once the burst was
done (``ledger/due.py``). The looks must not, nor must the claims that follow them (as one
``OR`` of the two halves, ordered, a claim read and sorted the whole table each time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.dialects import postgresql

from refunds_plugin.ledger import claims, seal
from refunds_plugin.notify import outbox

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ROWS = 3000
MOST_PAGES = 30  # a look may read this many pages; the tables below hold over 100 each


@pytest.fixture
def pg(pg_migrated: Engine) -> Iterator[Engine]:
    with pg_migrated.begin() as conn:
        conn.execute(text("TRUNCATE ledger_entries, ledger_seal, outbox, refund_attempts "
                          "RESTART IDENTITY CASCADE"))
        for table in ("ledger_entries", "outbox", "refund_attempts"):
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    yield pg_migrated
    with pg_migrated.begin() as conn:
        for table in ("ledger_entries", "outbox", "refund_attempts"):
            conn.execute(text(f"ALTER TABLE {table} RESET (autovacuum_enabled)"))
        conn.execute(text("TRUNCATE ledger_entries, ledger_seal, outbox, refund_attempts "
                          "RESTART IDENTITY CASCADE"))
        # later tests see these tables analysed empty, not with this test's statistics
        conn.execute(text("ANALYZE ledger_entries, outbox, refund_attempts"))


def _pages(conn: Connection, sql: str, params: dict[str, Any]) -> int:
    """The pages (buffers hit or read) the statement's plan touched."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
    row = cur.fetchone()
    cur.close()
    assert row is not None
    plan = row[0][0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


def _pages_once_marked(conn: Connection, sql: str, params: dict[str, Any], most: float) -> int:
    """The pages the statement touches once the dead index entries it passes are marked (by an
    earlier read of it). A read may mark an entry only if no other transaction of the database
    could still see its row: a sealer round of an earlier test's engine (the database is the
    session's) may hold a snapshot just then, and nothing is marked. So wait until no other
    transaction of the database holds one (up to 10 s), read to mark, and read again; up to 5
    times while the second read touches more than ``most``. A look that reads every row
    version touches them every time, so this still fails for it."""
    pages = 0
    for _ in range(5):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and conn.execute(text(
                "SELECT pg_stat_clear_snapshot(), count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)")).one()[1]:
            time.sleep(0.05)
        _pages(conn, sql, params)  # marks the dead entries it passes
        pages = _pages(conn, sql, params)
        if pages <= most:
            break
    return pages


def _reads(conn: Connection, sql: str, params: dict[str, Any], table: str) -> list[str]:
    """How the statement's plan reads ``table``: each scan's kind and index."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    row = cur.fetchone()
    cur.close()
    assert row is not None

    def walk(plan: dict[str, Any]) -> Iterator[str]:
        if plan.get("Relation Name") == table:
            yield f"{plan['Node Type']} {plan.get('Index Name', '')}".strip()
        for child in plan.get("Plans", ()):
            yield from walk(child)

    return list(walk(row[0][0]["Plan"]))


def _compiled(statement: Any, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    values = {k: b.value for k, b in compiled.binds.items() if k not in params}
    return str(compiled), {**values, **params}


def _table_pages(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT pg_relation_size('{table}') / 8192")).scalar_one())


def test_a_sealing_round_reads_from_the_tail_not_every_entry_sealed_before(pg: Engine) -> None:
    body = json.dumps({"note": "x" * 200})
    with pg.begin() as conn:
        conn.execute(text("INSERT INTO ledger_entries (entry_type, subject_id, body, created_at) "
                          "SELECT 'decision', 'd' || n, :body, :at "
                          "FROM generate_series(1, :rows) AS n"),
                     {"body": body, "at": NOW, "rows": ROWS})
    first = seal.seal_round(pg)
    assert (first.sealed, first.through) == (ROWS, ROWS)
    with pg.begin() as conn:
        assert _table_pages(conn, "ledger_entries") > 100
        assert conn.execute(text("SELECT count(*) FROM ledger_entries WHERE hash IS NULL")
                            ).scalar_one() == 0
        # nothing to seal: the round's one statement finds the tail and stops there
        sql = str(seal._START.compile(dialect=postgresql.psycopg.dialect()))
        idle = _pages(conn, sql, {"k": 1})
    assert idle <= MOST_PAGES, idle
    # one new entry: the next round seals it after the tail, reading a few pages
    with pg.begin() as conn:
        conn.execute(text("INSERT INTO ledger_entries (entry_type, subject_id, body, created_at) "
                          "VALUES ('decision', 'd-new', :body, :at)"), {"body": body, "at": NOW})
    with pg.begin() as conn:
        sql = str(seal._START.compile(dialect=postgresql.psycopg.dialect()))
        busy = _pages(conn, sql, {"k": 1})
        rows = conn.execute(seal._START, {"k": 1}).all()
    assert busy <= MOST_PAGES, busy
    # (tail, S, entry): the tail's row and the new entry, nothing older
    assert [(r[1], r[2], r[3]) for r in rows] == [(ROWS, ROWS + 1, ROWS),
                                                  (ROWS, ROWS + 1, ROWS + 1)]
    after = seal.seal_round(pg)
    assert (after.sealed, after.through) == (1, ROWS + 1)


def _queue_messages(pg: Engine) -> None:
    """``ROWS`` mails queued, due at ``NOW``."""
    with pg.begin() as conn:
        conn.execute(text(
            "INSERT INTO outbox (id, cause, kind, channel, recipient, locale, context, status, "
            "tries, next_try_at, created_at, updated_at) "
            "SELECT 'm' || n, 'decision:' || n, 'return.decided', 'mail', 'c@example.com', 'en', "
            ":context, 'queued', 0, :at, :at, :at FROM generate_series(1, :rows) AS n"),
            {"context": json.dumps({"text": "y" * 200}), "at": NOW, "rows": ROWS})


def test_anything_due_passes_over_sent_and_skipped_messages_cheaply(pg: Engine) -> None:
    _queue_messages(pg)
    with pg.begin() as conn:  # statistics taken while half wait and half are being sent
        conn.execute(text("UPDATE outbox SET status = 'sending', lease_until = :until "
                          "WHERE id LIKE '%1' OR id LIKE '%3' OR id LIKE '%5' OR id LIKE '%7' "
                          "OR id LIKE '%9'"), {"until": NOW})
        conn.execute(text("ANALYZE outbox"))
    with pg.begin() as conn:  # each claimed, then skipped: two dead versions per message
        conn.execute(text("UPDATE outbox SET status = 'sending', claimed_by = 'w', "
                          "lease_until = :until"), {"until": NOW + timedelta(minutes=5)})
    with pg.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'skipped', note = 'not sent'"))
    later = NOW + timedelta(minutes=10)
    with pg.begin() as conn:
        assert _table_pages(conn, "outbox") > 100
        assert outbox.any_due(conn, later) is False
        sql, params = _compiled(outbox._ANY_DUE, {"now": later})
        # plain index scans that stop at their first row (a bitmap scan reads every match
        # first, and never marks the dead entries it passes)
        assert _reads(conn, sql, params, "outbox") == [
            "Index Only Scan ix_outbox_due",
            "Index Scan ix_outbox_due"]
    with pg.begin() as conn:  # a message due again is still found
        conn.execute(text("UPDATE outbox SET status = 'queued' WHERE id = 'm7'"))
    with pg.begin() as conn:
        assert outbox.any_due(conn, later) is True
        # the claim too reads each half along the index (as one OR: the whole table, sorted)
        sql, params = _compiled(outbox._DUE_LOCKED, {"now": later, "limit": 10})
        assert _reads(conn, sql, params, "outbox") == [
            "Index Scan ix_outbox_due", "Index Scan ix_outbox_due"]
        # the index's entries in the two statuses (the dead ones too, until VACUUM), not the
        # table's pages (over 300 here; as one OR, the claim read them all and sorted them)
        most = _table_pages(conn, "outbox") / 4
        assert _pages_once_marked(conn, sql, params, most) < most
        assert [r.id for r in outbox.claim_due(conn, "w2", later, later, 10)] == ["m7"]


def test_anything_due_for_the_executor_passes_over_finished_attempts_cheaply(
    pg: Engine,
) -> None:
    with pg.begin() as conn:
        # attempts without their decisions (the foreign key's trigger off for this insert):
        # only the claim's columns matter here
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(
            "INSERT INTO refund_attempts (id, decision_id, order_id, seq, provider, kind, "
            "currency, amount, bonus, payment_reference, reason, idempotency_key, status, tries, "
            "next_try_at, created_at, updated_at) "
            "SELECT 'a' || n, 'd' || n, rpad('o' || n, 200, 'o'), 1, 'dryrun', 'refund', 'USD', "
            "100, 0, 'pi_' || n, 'requested_by_customer', 'k' || n, 'pending', 0, :at, :at, :at "
            "FROM generate_series(1, :rows) AS n"), {"at": NOW, "rows": ROWS})
    with pg.begin() as conn:  # statistics taken while half wait and half are being sent
        conn.execute(text("UPDATE refund_attempts SET status = 'in_progress', lease_until = :at "
                          "WHERE tries = 0 AND right(id, 1) IN ('1', '3', '5', '7', '9')"),
                     {"at": NOW})
        conn.execute(text("ANALYZE refund_attempts"))
    with pg.begin() as conn:
        conn.execute(text("UPDATE refund_attempts SET status = 'succeeded'"))
    later = NOW + timedelta(minutes=10)
    with pg.begin() as conn:
        assert _table_pages(conn, "refund_attempts") > 100
        assert claims.any_due(conn, later) is False
        sql, params = _compiled(claims._ANY_DUE, {"now": later})
        assert _reads(conn, sql, params, "refund_attempts") == [
            "Index Only Scan ix_refund_attempts_claim", "Index Scan ix_refund_attempts_claim"]
    with pg.begin() as conn:  # one due again: the claim reads each half along the index
        conn.execute(text("UPDATE refund_attempts SET status = 'pending' WHERE id = 'a7'"))
    with pg.begin() as conn:
        sql, params = _compiled(claims._DUE_LOCKED, {"now": later, "limit": 10})
        assert _reads(conn, sql, params, "refund_attempts") == [
            "Index Scan ix_refund_attempts_claim", "Index Scan ix_refund_attempts_claim"]
        assert _pages_once_marked(conn, sql, params, MOST_PAGES) <= MOST_PAGES
        assert [a.id for a in claims.claim_due(conn, "w2", later, later, 10)] == ["a7"]


def test_skipping_what_no_channel_takes_reads_each_half_along_the_index(pg: Engine) -> None:
    """The courier's skip of messages no channel takes (mail off) is the claim's look with
    the channel's condition: after statistics taken mid-burst, still read along the index."""
    _queue_messages(pg)
    with pg.begin() as conn:
        conn.execute(text("ANALYZE outbox"))  # statistics: every message waits
    later = NOW + timedelta(minutes=10)
    with pg.begin() as conn:
        assert outbox.skip_due(conn, later, "mail is off", ROWS, mail=True) == ROWS
    with pg.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'queued' WHERE id IN ('m7', 'm8')"))
        conn.execute(text("UPDATE outbox SET status = 'sending', lease_until = :at "
                          "WHERE id = 'm9'"), {"at": NOW})
    with pg.begin() as conn:
        sql, params = _compiled(outbox.first_due(
            outbox._o.id, outbox._ORDER, (outbox._LAPSED, outbox._WAITING), locked=True,
            where=(outbox._o.channel == "mail",)), {"now": later, "limit": 10})
        assert _reads(conn, sql, params, "outbox") == [
            "Index Scan ix_outbox_due", "Index Scan ix_outbox_due"]
        assert _pages_once_marked(conn, sql, params, MOST_PAGES) <= MOST_PAGES
        # the lapsed claim and the two waiting, each skipped once with one more try counted
        assert outbox.skip_due(conn, later, "mail is off", 10, mail=True) == 3
        rows = conn.execute(text("SELECT id, status, tries, note FROM outbox "
                                 "WHERE id IN ('m7', 'm8', 'm9') ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("m7", "skipped", 2, "mail is off"),
                                        ("m8", "skipped", 2, "mail is off"),
                                        ("m9", "skipped", 2, "mail is off")]
