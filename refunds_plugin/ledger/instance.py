"""The instance's own secret key, made on first start and kept in its database.

When ``REFUNDS_SECRET_KEY`` is unset, a key that changed with every start would break every
status link a customer was sent. So the first start makes one and stores it in
``instance_keys``; every later start, worker and host on the same database reads the same key.
Concurrent first starts agree: the insert does nothing when the name exists, and everyone reads
back the row that won.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.config import Config
from refunds_plugin.ledger.db import make_engine, read_tx, write_tx
from refunds_plugin.ledger.migrate import current_revision, migrate
from refunds_plugin.ledger.tables import instance_keys

SECRET_NAME = "secret_key"
KEPT = ("status links: REFUNDS_SECRET_KEY is not set, so this instance's own key is used, kept "
        "in its database: links survive restarts")
NOT_KEPT = ("status links: REFUNDS_SECRET_KEY is not set and the database has no instance_keys "
            "table yet (run `refunds migrate`): links last until the next restart")


def instance_secret(engine: Engine, name: str = SECRET_NAME) -> str | None:
    """The kept key (made now if there is none); None when the database predates it."""
    if not inspect(engine).has_table(instance_keys.name):
        return None
    fresh = {"name": name, "value": secrets.token_hex(32), "created_at": datetime.now(UTC)}
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)
    with write_tx(engine) as conn:
        conn.execute(insert(instance_keys).values(fresh).on_conflict_do_nothing())
    with read_tx(engine) as conn:
        return str(conn.execute(
            select(instance_keys.c.value).where(instance_keys.c.name == name)).scalar_one())


def kept_secret(config: Config, say: Callable[[str], None]) -> str:
    """The key ``serve`` hands its workers when ``REFUNDS_SECRET_KEY`` is unset, and one line
    saying which it is. An empty database is migrated first, as ``serve`` would."""
    engine = make_engine(config.database_url)
    try:
        if current_revision(engine) is None:
            migrate(engine)
        return engine_secret(engine, say)
    finally:
        engine.dispose()


def engine_secret(engine: Engine, say: Callable[[str], None]) -> str:
    """The kept key of the database behind ``engine`` (``create_app`` without a key, e.g.
    under gunicorn directly), and one line saying which it is; a key for this process only
    when the database predates ``instance_keys``."""
    key = instance_secret(engine)
    say(KEPT if key else NOT_KEPT)
    return key or secrets.token_hex(32)
