"""A command pointed at a database without the ledger's tables says so, and how to fix it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from refunds_plugin.cli import main
from tests.conftest import PG_ADMIN_URL

HINT = "is REFUNDS_DATABASE_URL right? A new database needs `refunds migrate` first."


@pytest.mark.parametrize("command", [["ledger", "list"], ["ledger", "verify"],
                                     ["ledger", "head"], ["ledger", "report"]])
def test_a_read_command_on_an_empty_sqlite_file_names_the_missing_tables(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"

    result = CliRunner().invoke(main, command, env={"REFUNDS_DATABASE_URL": url})

    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: the database {url} has no ledger tables (no such table: "
    )
    assert result.output.rstrip().endswith(HINT)
    assert "Traceback" not in result.output


def test_after_migrate_the_same_command_answers(tmp_path: Path) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0

    result = CliRunner().invoke(main, ["ledger", "head"], env=env)

    assert (result.exit_code, result.output) == (
        0, "the ledger has no entries yet: nothing to anchor\n")


@pytest.fixture
def pg_empty_url(pg_server_url: str) -> Iterator[str]:
    """A PostgreSQL database with no tables at all (``pg_server_url`` skips or fails as usual)."""
    name = f"refunds_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_postgresql_database_without_the_tables_is_named_with_its_password_hidden(
    pg_empty_url: str,
) -> None:
    env = {"REFUNDS_DATABASE_URL": pg_empty_url}
    result = CliRunner().invoke(main, ["ledger", "list"], env=env)

    assert result.exit_code == 1
    assert "has no ledger tables (" in result.output and "does not exist" in result.output
    assert result.output.rstrip().endswith(HINT)


def test_a_database_that_cannot_be_opened_is_named_not_sent_to_migrate(
    pg_server_url: str,
) -> None:
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/refunds_missing_{uuid.uuid4().hex[:8]}"
    env = {"REFUNDS_DATABASE_URL": url}

    for command in (["ledger", "list"], ["migrate"]):
        result = CliRunner().invoke(main, command, env=env)

        assert result.exit_code == 1
        assert result.output.startswith(f"Error: cannot open the database {url}: ")
        assert "does not exist" in result.output and "migrate" not in result.output


def test_a_sqlite_path_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/ledger.db"

    result = CliRunner().invoke(main, ["ledger", "head"], env={"REFUNDS_DATABASE_URL": url})

    assert (result.exit_code, result.output) == (
        2, f"Error: REFUNDS_DATABASE_URL={url!r}: the directory {tmp_path}/no/such/dir does "
           "not exist: create it, or name a file in an existing directory\n")


ONE_SHOT = [["trouble", "scan"], ["trouble", "scan", "--apply"], ["trouble", "follow-ups"],
            ["returns", "expire"], ["returns", "expire", "--apply"],
            ["returns", "receive", "1001", "l1=as_new"],
            ["reconcile", "--provider", "saleor", "--since", "2026-11-01"]]


@pytest.mark.parametrize("command", ONE_SHOT, ids=[" ".join(c) for c in ONE_SHOT])
def test_a_command_that_reads_the_ledger_never_migrates_a_database_it_was_wrongly_pointed_at(
    tmp_path: Path, command: list[str]
) -> None:
    # a mistyped REFUNDS_DATABASE_URL made a fresh ledger there and answered "no trouble
    # found", "nothing to expire" or "saleor and the ledger agree" about it, exit 0
    url = f"sqlite:///{tmp_path}/typo.db"
    env = {"REFUNDS_DATABASE_URL": url,
           "REFUNDS_SALEOR_ALLOWED_API_URLS": "https://shop.example.com/graphql/"}

    result = CliRunner().invoke(main, command, env=env)

    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: the database {url} has no ledger tables (no such table: ")
    assert result.output.endswith(f"{HINT}\n")
    assert len(result.output.splitlines()) == 1  # no "empty database: migrating" log line
    assert list(tmp_path.iterdir()) == []
