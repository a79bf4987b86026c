"""Schema migrations: ``refunds migrate`` and the automatic migration of an empty database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")  # refunds_plugin/ledger/migrations


@contextmanager
def _quiet() -> Iterator[None]:
    """Alembic's INFO lines ("Context impl SQLiteImpl.", one per revision) held back: the
    commands say in one line what happened; its warnings still pass."""
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        alembic_log.setLevel(level)


def alembic_config(url: str = "") -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with _quiet(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade to the newest revision; returns (before, after). Safe to run repeatedly."""
    before = current_revision(engine)
    cfg = alembic_config()
    with _quiet(), engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return before, current_revision(engine)


def revision_gap(engine: Engine) -> tuple[str, bool] | None:
    """The database's revision when it is not this version's newest, with whether ``migrate``
    upgrades it (an older one) or cannot (one a newer version wrote); None when it is the
    newest or the database has none yet (empty: ``migrate`` or ``serve`` makes it)."""
    at = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    if at is None or at == script.get_current_head():
        return None
    try:
        known = script.get_revision(at) is not None
    except CommandError:  # "Can't locate revision identified by '0099'"
        known = False
    return at, known


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
