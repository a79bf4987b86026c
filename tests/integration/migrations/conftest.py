"""An empty database per test, SQLite then PostgreSQL, for taking a ledger up revision by
revision (``tests/fakes/old_ledger.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL
from tests.fakes.old_ledger import OldLedger


@pytest.fixture(params=["sqlite", "postgresql"])
def old_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OldLedger]:
    if request.param == "sqlite":
        ledger = OldLedger(f"sqlite:///{tmp_path / 'old.db'}")
        yield ledger
        ledger.close()
        return
    request.getfixturevalue("pg_server_url")  # skips, or fails under CI, as usual
    name = f"refunds_old_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    ledger = OldLedger(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield ledger
    finally:
        ledger.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
