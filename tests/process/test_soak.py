"""The soak in CI: ``bench/soak.py`` for 5 minutes on PostgreSQL (its own database), two
receivers, two workers, a provider that fails and times out at random and a worker killed
every minute; it must end with every order exactly right, ``refunds ledger verify`` passing,
memory flat after the warm-up and the database connections flat. The 30-minute run is
``nice -n 10 python bench/soak.py`` (figures in bench/README.md)."""

from __future__ import annotations

import os

import pytest

from bench import soak

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.soak]


def test_five_minutes_with_faults_lose_nothing_and_pay_once(pg_server_url: str) -> None:
    minutes = os.environ.get("REFUNDS_SOAK_MINUTES", "5")
    admin = pg_server_url.rsplit("/", 1)[0] + "/postgres"
    assert soak.main(["--minutes", minutes, "--sample", "30", "--kill-every", "60",
                      "--warmup", "0.3", "--pg-admin-url", admin]) == 0
