"""The app run by gunicorn directly (``gunicorn 'webhooks:create_app()'``, no ``refunds serve``)
refuses a ledger another version left, in the one line the CLI says, before it writes
anything: it started and failed on every request that touched a column the old ledger lacks,
while ``refunds serve`` refused it. An empty database is still migrated, as ``serve`` does."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect, text

from refunds_plugin.cli import main
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import (
    LedgerRevisionError,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
)
from webhooks import create_app

SETTINGS = {"secret_key": "k" * 32, "storefront_secret": "s" * 32}


def _downgraded(path: Path, to: str) -> str:
    """A ledger made at this version's newest revision, then downgraded to ``to``."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    cfg = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, to)
    engine.dispose()
    return url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_app_refuses_an_older_ledger_with_the_cli_s_words_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    url = _downgraded(path, "0033")
    before = _digest(path)
    cli = CliRunner().invoke(main, ["ledger", "list"], env={"REFUNDS_DATABASE_URL": url})
    assert cli.exit_code == 1

    with pytest.raises(LedgerRevisionError) as refused:
        create_app({"database_url": url, **SETTINGS})

    said = (
        f"the database {url} is at revision 0033, older than this version's "
        f"{head_revision()}: back it up, run `refunds migrate`, then run this again"
    )
    assert str(refused.value) == said
    assert cli.output == f"Error: {said}\n"  # the CLI's very words
    assert _digest(path) == before  # no key kept, no table made, no revision changed
    engine = make_engine(url)
    try:
        assert current_revision(engine) == "0033"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM instance_keys")).scalar() == 0
    finally:
        engine.dispose()


def test_create_app_refuses_a_ledger_a_newer_version_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()

    with pytest.raises(LedgerRevisionError) as refused:
        create_app({"database_url": url, **SETTINGS})

    assert str(refused.value) == (
        f"the database {url} is at revision 0099, which this version of refunds-plugin "
        f"(newest revision {head_revision()}) does not know: a newer version wrote it; run "
        "that version"
    )


def test_create_app_still_migrates_an_empty_database_and_serves_a_current_one(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    for _ in range(2):  # empty: migrated; then at the newest revision: served
        app = create_app({"database_url": url, **SETTINGS})
        assert app.test_client().get("/healthz").status_code == 200
        app.extensions["refunds"].engine.dispose()
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert "decisions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
