"""Starting up says what is true, quietly: no Alembic chatter, a warning when storefront events
would be refused, a busy port named before any banner, and ``worker --once`` says what it did."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from refunds_plugin.cli import main
from refunds_plugin.ledger.migrate import head_revision
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripeServer

HEAD = head_revision()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_migrate_says_one_line_and_nothing_from_alembic(tmp_path: Path) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}

    first = CliRunner().invoke(main, ["migrate"], env=env)
    again = CliRunner().invoke(main, ["migrate"], env=env)

    assert (first.exit_code, first.stdout, first.stderr) == (
        0, f"database at revision {HEAD} (was empty)\n", "")
    assert (again.exit_code, again.stdout, again.stderr) == (
        0, f"database at revision {HEAD} (was {HEAD})\n", "")


def test_a_busy_port_is_named_before_any_banner_and_nothing_is_migrated(
    tmp_path: Path, listening: int
) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}

    result = CliRunner().invoke(main, ["serve", "--port", str(listening)], env=env)

    assert (result.exit_code, result.output) == (
        1, f"Error: port {listening} on 127.0.0.1 is already in use: choose another with "
           "--port, or stop what is listening there\n")
    assert not (tmp_path / "ledger.db").exists()


def test_the_banner_is_quiet_and_warns_that_storefront_events_would_be_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    no_socket: list[bool] = []

    def run(app: BaseApplication) -> None:
        served.append(app.cfg.bind[0])
        if "control_socket_disable" in app.cfg.settings:  # gunicorn >= 27
            no_socket.append(app.cfg.control_socket_disable)

    monkeypatch.setattr(BaseApplication, "run", run)
    with socket.socket() as sock:  # a port free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "REFUNDS_STOREFRONT_SECRET": "", "REFUNDS_STRIPE_API_KEY": "",
           "REFUNDS_SECRET_KEY": "k" * 32, "REFUNDS_SALEOR_ALLOWED_API_URLS": ""}

    result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=env)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "storefront: REFUNDS_STOREFRONT_SECRET is not set, so storefront webhooks "
        "(POST /webhooks/storefront) will be refused: set it to the secret your storefront "
        "signs with (any string to try it) and start again"]
    assert result.stdout.startswith(f"refunds-plugin on http://127.0.0.1:{port}  ")
    # the empty database was migrated: one line says so, and Alembic says nothing
    said = result.stderr.splitlines()
    logged = [(line["logger"], line["message"])
              for line in map(json.loads, (x for x in said if x.startswith("{")))]
    assert logged == [("refunds.runtime", "empty database: migrating")]
    # and no return address is configured: what customers are told instead, said once
    assert [x for x in said if not x.startswith("{")] == [
        "warning: no [[return_addresses]] are configured (REFUNDS_CONFIG_FILE), so a customer "
        "asked to send items back is told \"The shop will tell you where to send it.\" and gets "
        "no address, deadline or label from us; no return waits for its parcel, no money "
        "waits for it, and an exchange's new item is ready to ship at approval (whatever "
        "exchange.ship_on says), and the customer is told so: see docs/returns-shipping.md"]
    assert served == [f"127.0.0.1:{port}"]
    # no control socket at ~/.gunicorn/gunicorn.ctl that a second instance would take over
    assert no_socket in ([], [True])


def test_with_a_storefront_secret_the_banner_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BaseApplication, "run", lambda app: None)
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "REFUNDS_STOREFRONT_SECRET": "s" * 32, "REFUNDS_SECRET_KEY": "k" * 32}

    result = CliRunner().invoke(main, ["serve", "--port", "0"], env=env)

    assert (result.exit_code, len(result.stdout.splitlines())) == (0, 1)
    assert "storefront" not in result.stdout


def test_worker_once_says_a_dry_run_moved_no_money(sqlite_url: str, clock: Clock) -> None:
    h = Harness(sqlite_url, clock, "")  # no Stripe key: the dry run pays
    try:
        h.post_storefront(order_paid("1001"))
        h.post_storefront(return_requested("r-1", "1001"))
    finally:
        h.close()

    done = CliRunner().invoke(main, ["worker", "--once"], env={"REFUNDS_DATABASE_URL": sqlite_url})

    assert (done.exit_code, done.stdout) == (
        0, "worker: 1 attempt(s) processed: 1 dry run (no money moved)\n")
    assert '"message": "attempt dry_run"' in done.stderr


def test_worker_once_says_what_it_did(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer
) -> None:
    stripe_server.fake.add_payment_intent(5500, "USD", "pi_123")
    h = Harness(sqlite_url, clock, stripe_server.url)
    try:
        h.post_storefront(order_paid("1001"))
        h.post_storefront(order_paid("1002", reference="pi_unknown_to_stripe"))  # refused
        h.post_storefront(return_requested("r-1", "1001"))
        h.post_storefront(return_requested("r-2", "1002"))
    finally:
        h.close()
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": "sk_live_fake",
           "REFUNDS_STRIPE_API_BASE": stripe_server.url, "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "0"}

    first = CliRunner().invoke(main, ["worker", "--once"], env=env)
    again = CliRunner().invoke(main, ["worker", "--once"], env=env)

    assert (first.exit_code, first.stdout) == (
        0, "worker: 2 attempt(s) processed: 1 succeeded, 1 failed (a person looks)\n")
    assert (again.exit_code, again.stdout) == (0, "worker: nothing was due\n")
