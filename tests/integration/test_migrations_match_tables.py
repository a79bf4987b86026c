"""The migrations build exactly the tables, columns and indexes ``ledger/tables`` declares, on
SQLite and PostgreSQL, partial indexes with their condition: what the code reads with is what
a migrated database has."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import metadata


def test_a_migrated_database_has_what_the_tables_declare(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            found = {i["name"]: i for i in inspect(conn).get_indexes("withdrawals")}
            marks = {i["name"]: i["column_names"]
                     for i in inspect(conn).get_indexes("insight_marks")}
    finally:
        engine.dispose()
    assert marks == {"ix_insight_marks_day": ["day"],
                     "ix_insight_marks_customer": ["customer"]}
    undecided = found["ix_withdrawals_undecided"]
    assert undecided["column_names"] == ["created_at", "id"]
    where = undecided["dialect_options"].get(f"{engine.dialect.name}_where")
    assert "decision_id IS NULL" in str(where)
