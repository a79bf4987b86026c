"""Shared fixtures: a migrated database (SQLite, or PostgreSQL where reachable), a fixed clock.

``db_url`` is parametrized over both databases for tests that ask for ``any_db_url``. Each test
session gets its own PostgreSQL database (``refunds_t_<random>``), so parallel runs never meet.
PostgreSQL tests skip with a reason when no server answers, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import Engine, create_engine, text

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import current_revision, head_revision, migrate
from refunds_plugin.ledger.tables import metadata
from tests.fakes import Clock, Harness
from tests.fakes.outbound_receiver import HOOK, Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer

PG_ADMIN_URL = os.environ.get(
    "REFUNDS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SCHEMA_DIR = Path(
    os.environ.get(
        "REFUNDS_SALEOR_SCHEMA_DIR", Path(__file__).parents[1].parent / "shared" / "saleor"
    )
)


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; dropped at the end."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but PostgreSQL is not reachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); set "
            "REFUNDS_TEST_PG_URL or start a server to run these tests"
        )
    with fresh_pg_database() as url:
        yield url


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty database on the test server; its URL; dropped afterwards."""
    name = f"refunds_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


_PG_HEAD: dict[Engine, str | None] = {}  # the session database's revision once migrated


@pytest.fixture(scope="session")
def pg_migrated(pg_server_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_server_url)
    migrate(engine)
    _PG_HEAD[engine] = head_revision()
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    # ledger_entries before ledger_seal, the order a sealer round still running for an earlier
    # test's engine takes them in: TRUNCATE then waits for it instead of deadlocking with it
    names = sorted((t.name for t in reversed(metadata.sorted_tables)),
                   key=lambda name: name == "ledger_seal")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'refunds.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'refunds.db'}"
        migrate(make_engine(url))
        yield url
        return
    engine = request.getfixturevalue("pg_migrated")
    if current_revision(engine) != _PG_HEAD[engine]:
        # a migration test that failed left the shared database at another revision (and
        # maybe with columns it added): made anew, so one failure stays one failure instead of
        # breaking every later test
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate(engine)
    _truncate(engine)
    yield engine.url.render_as_string(hide_password=False)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def saleor_schema_dir() -> Path:
    if not (SCHEMA_DIR / "schema-3.20.graphql").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but Saleor schemas are missing from {SCHEMA_DIR}")
        pytest.skip(f"Saleor schemas not found in {SCHEMA_DIR}; set REFUNDS_SALEOR_SCHEMA_DIR")
    return SCHEMA_DIR


# --- the real app on a migrated database, a hand-moved clock, the Stripe fake ---------------


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def stripe_server() -> Iterator[FakeStripeServer]:
    server = FakeStripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it received."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def fake_stripe(stripe_server: FakeStripeServer) -> FakeStripe:
    return stripe_server.fake


@pytest.fixture
def harness(any_db_url: str, clock: Clock, stripe_server: FakeStripeServer) -> Iterator[Harness]:
    h = Harness(any_db_url, clock, stripe_server.url)
    yield h
    h.close()


@pytest.fixture
def merchant_hook(stripe_server: FakeStripeServer) -> Iterator[Receiver]:
    """The merchant's endpoint at ``HOOK`` for shops set up with ``ANNOUNCED`` (every delivery
    verified); the fake Stripe passes through."""
    receiver = Receiver()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(stripe_server.url)
        mock.add_callback(responses.POST, HOOK, callback=receiver)
        yield receiver


@pytest.fixture
def policy_harness(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> Iterator[Callable[..., Harness]]:
    """Harnesses whose policy is the YAML text given, written to a file (``Config.policy``),
    with any other settings."""
    made: list[Harness] = []

    def make(policy_text: str, **settings: Any) -> Harness:
        path = tmp_path / "policy.yaml"
        path.write_text(policy_text, encoding="utf-8")
        made.append(Harness(any_db_url, clock, stripe_server.url,
                            settings={"policy": str(path), **settings}))
        return made[-1]

    yield make
    for h in made:
        h.close()


@pytest.fixture
def sqlite_harness(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer
) -> Iterator[Harness]:
    h = Harness(sqlite_url, clock, stripe_server.url)
    yield h
    h.close()
