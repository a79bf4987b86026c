"""Connections kept and statements kept: ``refunds serve`` keeps a pooled connection for each of
its threads (none opened and closed per request under load), and on PostgreSQL a rollback (a
read that ends without a commit) no longer makes psycopg forget the statements it prepared, so
the server does not parse and plan every request's statements anew."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from refunds_plugin.cli import main
from refunds_plugin.config import ConfigError, load_config
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import instance_keys

PREPARED = text("SELECT name, statement FROM pg_prepared_statements")
READ = select(instance_keys.c.value).where(instance_keys.c.name == "probe")


def _served_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                 **env: str) -> int:
    sizes: list[int] = []

    def run(app: BaseApplication) -> None:
        flask_app: Any = app.load()  # what each gunicorn worker builds
        engine = flask_app.extensions["refunds"].engine
        sizes.append(engine.pool.size())
        engine.dispose()

    monkeypatch.setattr(BaseApplication, "run", run)
    result = CliRunner().invoke(main, ["serve", "--no-executor", "--port", "0", *args], env={
        "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db", "REFUNDS_SECRET_KEY": "k" * 32,
        "REFUNDS_STOREFRONT_SECRET": "s" * 32, "REFUNDS_STRIPE_API_KEY": "",
        "REFUNDS_DATABASE_POOL_SIZE": "", **env})
    assert result.exit_code == 0, result.output
    return sizes[0]


def test_serve_keeps_a_connection_for_each_thread_and_its_two_background_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _served_pool(tmp_path, monkeypatch, []) == 8 + 2  # --threads 8 by default
    assert _served_pool(tmp_path, monkeypatch, ["--threads", "16"]) == 16 + 2
    # the operator's own size wins
    assert _served_pool(tmp_path, monkeypatch, ["--threads", "16"],
                        REFUNDS_DATABASE_POOL_SIZE="40") == 40


def test_a_negative_pool_size_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({"REFUNDS_DATABASE_POOL_SIZE": "-1"})
    assert str(refused.value) == (
        "REFUNDS_DATABASE_POOL_SIZE must be 0 (sized by the process) or more")
    assert load_config({"REFUNDS_DATABASE_POOL_SIZE": "12"}).database_pool_size == 12
    assert load_config({}).database_pool_size == 0


@pytest.fixture
def one_connection(pg_migrated: Engine) -> Iterator[Engine]:
    """The migrated database through a pool of one connection, so every block below uses the
    same server session."""
    engine = make_engine(pg_migrated.url.render_as_string(hide_password=False), pool_size=1)
    with engine.begin() as conn:
        conn.execute(instance_keys.delete().where(instance_keys.c.name == "probe"))
    yield engine
    engine.dispose()


def _prepared(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(statement for _, statement in conn.execute(PREPARED)
                      if "instance_keys" in statement)


def test_a_read_that_ends_in_a_rollback_keeps_the_prepared_statements(
    one_connection: Engine,
) -> None:
    engine = one_connection
    for _ in range(6):  # psycopg prepares a statement on its fifth run on a connection
        with engine.begin() as conn:
            conn.execute(READ)
    assert len(_prepared(engine)) == 1  # (that read ended in a rollback: still there)

    for _ in range(3):  # reads closed without a commit: each one a ROLLBACK
        with engine.connect() as conn:
            assert conn.execute(READ).scalar() is None
    with engine.connect() as conn:
        conn.execute(READ)
        conn.rollback()
        conn.execute(READ)  # run by its prepared name, not prepared again under another
    assert len(_prepared(engine)) == 1


def test_a_rollback_that_undoes_ddl_forgets_what_was_prepared_on_it(one_connection: Engine) -> None:
    engine = one_connection
    with engine.connect() as conn:  # a migration that fails halfway, on the service's engine
        conn.execute(text("CREATE TABLE probe_ddl (a integer)"))
        for _ in range(6):
            conn.execute(text("SELECT a FROM probe_ddl"))  # prepared on the fifth run
        conn.rollback()
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe_ddl (a text)"))
            conn.execute(text("INSERT INTO probe_ddl VALUES ('x')"))
        with engine.connect() as conn:  # not "cached plan must not change result type"
            assert conn.execute(text("SELECT a FROM probe_ddl")).scalar() == "x"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS probe_ddl"))
    # committed DDL leaves nothing behind: the next rollback keeps the statements again
    for _ in range(6):
        with engine.begin() as conn:
            conn.execute(READ)
    with engine.connect() as conn:
        conn.execute(READ)
    assert len(_prepared(engine)) == 1


def test_a_rollback_still_undoes_the_transaction_and_ends_a_failed_one(
    one_connection: Engine,
) -> None:
    engine = one_connection
    row = {"name": "probe", "value": "v", "created_at": text("now()")}
    with engine.connect() as conn:
        conn.execute(instance_keys.insert().values(row))
        conn.rollback()
        assert conn.execute(READ).scalar() is None
    with engine.connect() as conn:  # a statement fails: the transaction is aborted
        with pytest.raises(DBAPIError):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert conn.execute(text("SELECT 2")).scalar() == 2
    # an exception inside begin(): rolled back
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(instance_keys.insert().values(row))
        conn.execute(text("SELECT 1 / 0"))
    with engine.connect() as conn:
        assert conn.execute(READ).scalar() is None


def test_a_connection_lost_in_a_transaction_is_replaced_after_its_rollback(
    one_connection: Engine, pg_migrated: Engine,
) -> None:
    engine = one_connection
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with pg_migrated.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        with pytest.raises(DBAPIError) as lost:
            conn.rollback()
        assert lost.value.connection_invalidated
    with engine.connect() as conn:  # a new server session, not the dead one
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
