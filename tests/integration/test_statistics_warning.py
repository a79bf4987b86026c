"""A PostgreSQL server whose autovacuum is off never analyses the ledger's tables, and some
lookups are then planned as reads of the whole table (``ledger/due.py``,
``ledger/history.py``): ``refunds serve`` and ``refunds worker`` say so as they start, in one
line; on SQLite, or with autovacuum on, they say nothing about it."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, text

from refunds_plugin.cli import main
from refunds_plugin.ledger.db import make_engine, statistics_warning
from refunds_plugin.ledger.migrate import migrate

LINE = ("database: PostgreSQL's autovacuum is off on this server: unless ANALYZE runs "
        "regularly, some lookups will read whole tables as the shop grows; turn it on "
        "(autovacuum = on) or schedule ANALYZE (docs/operations.md)")


def _autovacuum_off(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SHOW autovacuum")).scalar_one() == "off")


def test_a_worker_says_when_the_server_never_analyses_its_tables(pg_migrated: Engine) -> None:
    url = pg_migrated.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(main, ["worker", "--once"], env={"REFUNDS_DATABASE_URL": url})
    assert done.exit_code == 0, done.output
    off = _autovacuum_off(pg_migrated)
    assert (LINE in done.stderr.splitlines()) is off
    assert statistics_warning(pg_migrated) == (LINE if off else None)


@pytest.mark.parametrize(("setting", "said"), [("off", LINE), ("on", None)])
def test_the_line_follows_the_servers_setting(
    pg_migrated: Engine, setting: str, said: str | None
) -> None:
    # the server's own setting is the machine's: its answer is replaced, on this engine only,
    # so both branches run whatever this server says
    engine = make_engine(pg_migrated.url.render_as_string(hide_password=False))

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _answer(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> Any:
        if statement == "SHOW autovacuum":
            return f"SELECT '{setting}'", params
        return statement, params

    try:
        assert statistics_warning(engine) == said
    finally:
        engine.dispose()


def test_nothing_is_said_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        assert statistics_warning(engine) is None
    finally:
        engine.dispose()
    done = CliRunner().invoke(main, ["worker", "--once"], env={"REFUNDS_DATABASE_URL": sqlite_url})
    assert (done.exit_code, "autovacuum" in done.output) == (0, False)
