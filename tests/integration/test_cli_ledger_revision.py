"""A ledger another version of refunds-plugin left (an older schema after an upgrade of the
package, or a newer one after a downgrade) is named in one line with its fix by every command,
before anything is read or served: never a traceback about a missing column, a service that
starts and fails on every request, or an answer read from tables this version does not know."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import alembic_config, head_revision, migrate

HEAD = head_revision()
COMMANDS = [
    ["serve"], ["serve", "--no-executor"], ["worker", "--once"], ["ledger", "list"],
    ["ledger", "export"], ["ledger", "report"], ["ledger", "verify"], ["tokens", "list"],
    ["trouble", "scan"], ["returns", "list"], ["insights", "costs"],
    ["policy", "simulate", "preset:default"],
]


def _at(path: Path, revision: str) -> str:
    engine = make_engine(f"sqlite:///{path}")
    cfg = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = tmp_path_factory.mktemp("ledgers")
    _at(made / "old.db", "0020")
    engine = make_engine(f"sqlite:///{made / 'new.db'}")
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    return {"old": made / "old.db", "new": made / "new.db"}


def _copy(ledgers: dict[str, Path], which: str, tmp_path: Path) -> str:
    shutil.copy(ledgers[which], tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_ledger_an_older_version_left_is_sent_to_migrate_before_anything_runs(
    ledgers: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    served: list[object] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: served.append(app))
    url = _copy(ledgers, "old", tmp_path)
    env = {"REFUNDS_DATABASE_URL": url, "REFUNDS_SECRET_KEY": "k" * 32}

    result = CliRunner().invoke(main, [*args, "--port", "0"] if args[0] == "serve" else args,
                                env=env)

    assert (result.exit_code, result.output) == (
        1, f"Error: the database {url} is at revision 0020, older than this version's {HEAD}: "
           "back it up, run `refunds migrate`, then run this again\n")
    assert served == []


@pytest.mark.parametrize("args", [*COMMANDS, ["migrate"]],
                         ids=[" ".join(c) for c in [*COMMANDS, ["migrate"]]])
def test_a_ledger_a_newer_version_wrote_is_named_not_read_or_migrated(
    ledgers: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    served: list[object] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: served.append(app))
    url = _copy(ledgers, "new", tmp_path)
    env = {"REFUNDS_DATABASE_URL": url, "REFUNDS_SECRET_KEY": "k" * 32}

    result = CliRunner().invoke(main, [*args, "--port", "0"] if args[0] == "serve" else args,
                                env=env)

    assert (result.exit_code, result.output) == (
        1, f"Error: the database {url} is at revision 0099, which this version of "
           f"refunds-plugin (newest revision {HEAD}) does not know: a newer version wrote it; "
           "run that version\n")
    assert served == []


def test_migrate_brings_an_older_ledger_up_and_the_commands_answer_again(
    ledgers: dict[str, Path], tmp_path: Path
) -> None:
    env = {"REFUNDS_DATABASE_URL": _copy(ledgers, "old", tmp_path)}

    migrated = CliRunner().invoke(main, ["migrate"], env=env)
    listed = CliRunner().invoke(main, ["ledger", "list"], env=env)

    assert (migrated.exit_code, migrated.output) == (
        0, f"database at revision {HEAD} (was 0020)\n")
    assert (listed.exit_code, listed.output) == (0, "no decisions yet\n")
