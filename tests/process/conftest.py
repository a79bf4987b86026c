"""Fixtures for the multi-process tests: a PostgreSQL database, the Stripe fake, a cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fakes.stripe_api import FakeStripeServer
from tests.process.cluster import Cluster, truncate


@pytest.fixture
def pg(pg_migrated: Engine) -> Engine:
    truncate(pg_migrated)
    return pg_migrated


@pytest.fixture
def stripe_server() -> Iterator[FakeStripeServer]:
    server = FakeStripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def cluster(
    pg: Engine, stripe_server: FakeStripeServer, tmp_path: Path
) -> Iterator[Cluster]:
    c = Cluster(pg.url.render_as_string(hide_password=False), stripe_server.url, tmp_path)
    yield c
    c.close()
