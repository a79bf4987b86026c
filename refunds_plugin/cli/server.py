"""``refunds serve``, ``refunds worker``, ``refunds migrate``: run the service and its schema."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections import Counter
from typing import Any

import click

from refunds_plugin.cli import startup
from refunds_plugin.exchanges.shipping import channel_warning
from refunds_plugin.finance.currencies import currency_warnings
from refunds_plugin.ledger.db import statistics_warning
from refunds_plugin.ledger.instance import kept_secret
from refunds_plugin.notify.address import sender_warning
from refunds_plugin.routing import money_banner, money_modes, stripe_secret_warning
from refunds_plugin.shipping.listing import (
    address_warning,
    key_warning,
    label_warning,
    scan_warning,
    ship_scan_warning,
    tracking_warning,
)


@click.command()
def migrate() -> None:
    """Create or upgrade the ledger's tables to the newest schema."""
    from refunds_plugin.ledger.migrate import migrate as run

    with startup.engine(older_ok=True) as engine:  # a newer version's ledger is refused
        before, after = run(engine)
    click.echo(f"database at revision {after} (was {before or 'empty'})")


PORT = click.IntRange(0, 65535)  # 0: any free port; outside, bind() raised OverflowError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=PORT, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Threads per worker.")
@click.option(
    "--executor/--no-executor",
    default=True,
    show_default=True,
    help="Run the refund executor in-process (turn off when `refunds worker` runs).",
)
def serve(host: str, port: int, workers: int, threads: int, executor: bool) -> None:
    """Run the webhook receiver (gunicorn) with an in-process executor.

    An empty database is migrated first; an invalid policy stops the start. GET /metrics sums
    every worker's histograms (prometheus-client multiprocess mode, in PROMETHEUS_MULTIPROC_DIR
    or a fresh temporary directory).
    """
    from gunicorn.app.base import BaseApplication

    from refunds_plugin import metrics
    from webhooks import create_app
    from webhooks.security import check_storage, limits_warning

    port_is_free(host, port)
    config = startup.config(run_executor=executor)
    check_storage(config.ratelimit_storage_uri)  # each worker opens it: said once, here
    made = None if metrics.multiprocess_dir() else tempfile.mkdtemp(prefix="refunds-metrics-")
    shared = metrics.multiprocess_dir() or str(made)
    if not config.database_pool_size:
        # a connection kept for each request thread, the executor's and the sealer's: under
        # load none is opened and closed per request (a new server process each on PostgreSQL)
        config = dataclasses.replace(config, database_pool_size=threads + 2)
    startup.checked(config)  # a wrong policy or mail setting writes no database, says no key
    with startup.engine(config.database_url):  # another version's ledger: before a key is said
        pass
    if not config.secret_key:  # one key shared by this serve's workers (status links, sessions)
        config = dataclasses.replace(config, secret_key=kept_secret(config, click.echo))
    runtime = startup.runtime(config=config)  # validates policy, migrates an empty database
    for line in currency_warnings(runtime.engine, runtime.policy):
        click.echo(line, err=True)
    for warning in (channel_warning(runtime.policy.exchange.allowed, config.outbound_url),
                    address_warning(bool(config.return_addresses)),
                    label_warning(runtime.policy.return_shipping.label, config.carrier),
                    key_warning(config.easypost_api_key, money_modes(config)),
                    scan_warning(runtime.policy, config.can_label, bool(config.return_addresses)),
                    ship_scan_warning(runtime.policy, config.can_label,
                                      bool(config.return_addresses)),
                    tracking_warning(runtime.policy, config.can_label,
                                     config.easypost_webhook_secret),
                    stripe_secret_warning(config), sender_warning(config),
                    statistics_warning(runtime.engine),
                    limits_warning(config.ratelimit_storage_uri, workers)):
        if warning:
            click.echo(warning, err=True)
    runtime.engine.dispose()
    mode = money_banner(config)  # per provider: Saleor moves money even without a Stripe key
    click.echo(
        f"refunds-plugin on http://{host}:{port}  policy={runtime.policy.name} "
        f"({runtime.policy.content_hash[:12]})  {mode}"
    )
    if not config.storefront_secret:
        click.echo("storefront: REFUNDS_STOREFRONT_SECRET is not set, so storefront webhooks "
                   "(POST /webhooks/storefront) will be refused: set it to the secret your "
                   "storefront signs with (any string to try it) and start again")

    class App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("accesslog", None)
            self.cfg.set("worker_exit", _release_on_exit)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 27: one socket
                # path per user by default, so a second `refunds serve` took the first's and
                # deleted it on stopping; nothing here uses gunicorn's control interface
                self.cfg.set("control_socket_disable", True)
            # each worker, as it starts and before it builds the app, writes its metrics where
            # every other worker's scrape reads them (this process stays as it was)
            self.cfg.set("post_fork", lambda _arbiter, _worker: metrics.enable_multiprocess(shared))

        def load(self) -> Any:
            return create_app(config, start_executor=executor)

    try:
        App().run()
    finally:
        if made is not None:  # the directory goes: nothing may write there any more
            metrics.disable_multiprocess()
            shutil.rmtree(made, ignore_errors=True)


def port_is_free(host: str, port: int, option: str = "--port", host_from: str = "--host") -> None:
    """Bind ``host:port`` once, as gunicorn (or the worker's metrics server) will
    (SO_REUSEADDR), before anything is printed: a port in use is one clear error naming
    ``option``, and a host that is no address here one naming ``host_from``, not a banner
    followed by retries or a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror as exc:
            stop = click.ClickException(
                f"{host} is not an address to listen on ({exc.strerror}): check {host_from}")
            if host_from.startswith("REFUNDS_"):  # a bad setting: exit 2, as every other
                stop.exit_code = 2
            raise stop from None
        except OSError as exc:
            why = "is already in use" if exc.errno == errno.EADDRINUSE else \
                f"cannot be used ({exc.strerror})"
            raise click.ClickException(
                f"port {port} on {host} {why}: choose another with {option}, or stop what is "
                "listening there") from None


def _release_on_exit(_server: Any, worker: Any) -> None:
    """gunicorn worker_exit: stop the in-process executor and hand back its unstarted claims."""
    runtime = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("refunds")
    if runtime is not None and runtime.executor is not None:
        if runtime.courier is not None:  # no more of its batch: it is handed back below
            runtime.courier.request_stop()
        runtime.executor.stop(timeout=20)


_STATES = (("succeeded", "succeeded"), ("dry_run", "dry run (no money moved)"),
           ("test_mode", "Stripe test mode (no real money moved)"),
           ("sent", "sent (the provider confirms later)"),
           ("pending", "to retry later"), ("unknown", "unknown (a person looks)"),
           ("failed", "failed (a person looks)"), ("canceled", "canceled"))


def drained_text(states: Counter[str]) -> str:
    """``worker --once`` in one line: how many attempts it processed and where they are now."""
    total = sum(states.values())
    if not total:
        return "worker: nothing was due"
    said = [f"{states[s]} {label}" for s, label in _STATES if states[s]]
    said += [f"{n} {s}" for s, n in sorted(states.items()) if s not in dict(_STATES)]
    return f"worker: {total} attempt(s) processed: {', '.join(said)}"


@click.command()
@click.option("--once", is_flag=True, help="Process what is due, then exit.")
@click.option("--worker-id", default=None, help="Name this worker in claims and logs.")
@click.option("--metrics-port", default=None, type=PORT, help="Serve GET /metrics on this port.")
def worker(once: bool, worker_id: str | None, metrics_port: int | None) -> None:
    """Run a refund executor: claim due attempts, call the provider, record the outcome,
    re-query Saleor orders whose refunds wait for an outcome no webhook will bring, record in
    Saleor the returns no refund records (a free order's), and deliver the outbox's emails and
    events.

    Any number may run against one PostgreSQL; SIGTERM finishes the current attempt and hands
    back the rest.
    """
    from refunds_plugin.metrics import serve_metrics

    metrics_host = os.environ.get("REFUNDS_METRICS_HOST", "127.0.0.1")
    if metrics_port is not None:  # before the runtime: nothing is migrated or claimed
        port_is_free(metrics_host, metrics_port, "--metrics-port", "REFUNDS_METRICS_HOST")
    runtime = startup.runtime(config=startup.config(), with_executor=True, worker_id=worker_id)
    ex, poller = runtime.executor, runtime.saleor_poller
    assert ex is not None and poller is not None  # with_executor=True builds both
    if warning := statistics_warning(runtime.engine):
        click.echo(warning, err=True)
    if metrics_port is not None:
        serve_metrics(metrics_host, metrics_port)
    if once:
        click.echo(drained_text(ex.drain()))
        # a declined Saleor refund sends no webhook: cron's worker asks Saleor about the
        # waiting ones too (every one whose look is due; this process keeps no schedule)
        if orders := poller.poll_once():
            found = ", ".join(f"{n} {outcome}" for outcome, n in sorted(poller.last.items()))
            click.echo(f"saleor: re-queried {orders} order(s) whose refunds were waiting: "
                       f"{found}")
        # return labels due, returns past their deadline, labels to void, restocks due
        if runtime.shipping_desk is not None and (done := runtime.shipping_desk.run_once()):
            click.echo(f"shipping: {done} return step(s) done (labels, expiries, voids, "
                       "restocks)")
        if runtime.exchanges is not None and (worked := runtime.exchanges.run_once()):
            click.echo(f"exchanges: worked on {worked} exchange(s)")
        if runtime.saleor_returns is not None and (told := runtime.saleor_returns.run_once()):
            click.echo(f"saleor: worked on {told} return(s) to record without a refund")
        runtime.engine.dispose()
        return
    stopped = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        click.echo(f"signal {signum}: finishing the current attempt and releasing claims", err=True)
        stopped.set()
        ex.request_stop()
        if runtime.courier is not None:  # the emails and events of its batch not yet sent
            runtime.courier.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"worker {ex.worker_id} started", err=True)
    ex.run_forever()
    released = ex.release()
    if runtime.courier is not None:  # emails and events it claimed but did not send
        released += runtime.courier.release()
    click.echo(f"worker stopped; released {released} claim(s)", err=True)
