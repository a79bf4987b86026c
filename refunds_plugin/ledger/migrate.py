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


class LedgerRevisionError(RuntimeError):
    """A ledger another version left (older: ``refunds migrate`` upgrades it; newer: run that
    version); the message is the one line the CLI says (``revision_refusal``)."""


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


def revision_refusal(engine: Engine, older_ok: bool = False) -> str | None:
    """Why a service or command must not use this ledger, in one line with its fix, or None:
    at this version's newest revision, empty (``serve`` and the app migrate it), or older with
    ``older_ok`` (``migrate``). The CLI (``cli/startup.current``) and the app factory
    (``webhooks.create_app``, gunicorn run directly) apply this one rule."""
    gap = revision_gap(engine)
    if gap is None or (gap[1] and older_ok):
        return None
    url = engine.url.render_as_string(hide_password=True)
    at, known = gap
    if known:
        return (f"the database {url} is at revision {at}, older than this version's "
                f"{head_revision()}: back it up, run `refunds migrate`, then run this again")
    return (f"the database {url} is at revision {at}, which this version of refunds-plugin "
            f"(newest revision {head_revision()}) does not know: a newer version wrote it; run "
            "that version")


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
