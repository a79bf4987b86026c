"""The ``refunds`` command line: serve, worker, migrate, ledger …  (``refunds --help``)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
from typing import Any

import click

from refunds_plugin.config import ConfigError, load_config
from refunds_plugin.ledger.instance import kept_secret


def _config(**overrides: Any) -> Any:
    try:
        return load_config(overrides={k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _runtime(**kwargs: Any) -> Any:
    import policies
    from refunds_plugin.bootstrap import build

    try:
        return build(**kwargs)
    except policies.PolicyError as exc:
        raise click.ClickException(f"refusing to start: the policy is invalid:\n{exc}") from None


class _Commands(click.Group):
    """The ``refunds`` group: a database without the ledger's tables, or one that cannot be
    opened, is named in one line; any other database error keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            text = str(exc.orig).strip().splitlines()[0]
            no_table = "no such table" in text or sqlstate == "42P01"
            connecting = isinstance(exc, OperationalError) and exc.statement is None
            if not (connecting or (no_table and ctx.invoked_subcommand != "migrate")):
                raise
            from sqlalchemy.engine import make_url

            url = make_url(_config().database_url).render_as_string(hide_password=True)
            if no_table:
                raise click.ClickException(
                    f"the database {url} has no ledger tables ({text}): is "
                    "REFUNDS_DATABASE_URL right? A new database needs `refunds migrate` first."
                ) from None
            raise click.ClickException(f"cannot open the database {url}: {text}") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="refunds-plugin")
def main() -> None:
    """refunds-plugin: signed storefront and Stripe events in, explained refunds out.

    Settings come from REFUNDS_* environment variables and an optional TOML file named by
    REFUNDS_CONFIG_FILE (see the README); the database is REFUNDS_DATABASE_URL (default:
    ./refunds.db, SQLite).
    """
    from refunds_plugin.logs import setup_logging

    setup_logging(os.environ.get("REFUNDS_LOG_LEVEL") or "INFO")


@main.command()
def migrate() -> None:
    """Create or upgrade the ledger's tables to the newest schema."""
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate as run

    config = _config()
    before, after = run(make_engine(config.database_url))
    click.echo(f"database at revision {after} (was {before or 'empty'})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", default=1, show_default=True, type=int, help="gunicorn worker processes."
)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.option(
    "--executor/--no-executor",
    default=True,
    show_default=True,
    help="Run the refund executor in-process (turn off when `refunds worker` runs).",
)
def serve(host: str, port: int, workers: int, threads: int, executor: bool) -> None:
    """Run the webhook receiver (gunicorn) with an in-process executor.

    An empty database is migrated first; an invalid policy stops the start.
    """
    from gunicorn.app.base import BaseApplication

    from webhooks import create_app

    config = _config(run_executor=executor)
    if not config.secret_key:  # one key shared by this serve's workers (status links, sessions)
        config = dataclasses.replace(config, secret_key=kept_secret(config, click.echo))
    runtime = _runtime(config=config)  # validates policy, migrates an empty database
    runtime.engine.dispose()
    mode = (
        "DRY RUN (no money moves: REFUNDS_STRIPE_API_KEY is not set)"
        if config.dry_run
        else "live Stripe"
    )
    click.echo(
        f"refunds-plugin on http://{host}:{port}  policy={runtime.policy.name} "
        f"({runtime.policy.content_hash[:12]})  {mode}"
    )

    class App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("accesslog", None)
            self.cfg.set("worker_exit", _release_on_exit)

        def load(self) -> Any:
            return create_app(config, start_executor=executor)

    App().run()


def _release_on_exit(_server: Any, worker: Any) -> None:
    """gunicorn worker_exit: stop the in-process executor and hand back its unstarted claims."""
    runtime = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("refunds")
    if runtime is not None and runtime.executor is not None:
        runtime.executor.stop(timeout=20)


@main.command()
@click.option("--once", is_flag=True, help="Process what is due, then exit.")
@click.option("--worker-id", default=None, help="Name this worker in claims and logs.")
@click.option("--metrics-port", default=None, type=int, help="Serve GET /metrics on this port.")
def worker(once: bool, worker_id: str | None, metrics_port: int | None) -> None:
    """Run a refund executor: claim due attempts, call the provider, record the outcome.

    Any number may run against one PostgreSQL; SIGTERM finishes the current attempt and hands
    back the rest.
    """
    from refunds_plugin.execution.executor import Executor
    from refunds_plugin.metrics import observe_provider, serve_metrics

    runtime = _runtime(config=_config(), with_executor=False)
    ex = Executor(
        runtime.engine,
        runtime.providers,
        runtime.config,
        runtime.service.clock,
        worker_id=worker_id,
        observe=observe_provider,
    )
    if metrics_port is not None:
        serve_metrics(os.environ.get("REFUNDS_METRICS_HOST", "127.0.0.1"), metrics_port)
    if once:
        ex.drain()
        return
    stopped = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        click.echo(f"signal {signum}: finishing the current attempt and releasing claims", err=True)
        stopped.set()
        ex._stop.set()
        ex.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"worker {ex.worker_id} started", err=True)
    ex.run_forever()
    released = ex.release()
    click.echo(f"worker stopped; released {released} claim(s)", err=True)


@main.group()
def ledger() -> None:
    """Read the ledger: list, export, verify, head, report."""


@ledger.command("list")
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision.")
def ledger_list(limit: int, as_json: bool) -> None:
    """The newest decisions with their money movements."""
    from refunds_plugin.finance.reports import recent_decisions
    from refunds_plugin.ledger.db import make_engine

    engine = make_engine(_config().database_url)
    try:
        rows = recent_decisions(engine, limit)
    finally:
        engine.dispose()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str, sort_keys=True))
        return
    if not rows:
        click.echo("no decisions yet")
        return
    headers = ["created", "decision", "order", "outcome", "resolution", "amount", "money", "reason"]
    table = [
        [
            str(r["created_at"])[:19],
            r["id"][:8],
            r["order_id"],
            r["outcome"],
            r["resolution"],
            r["amount_text"],
            r["money_status"],
            r["reason_code"],
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(str(row[i])) for row in table)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for line in table:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))


@ledger.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option("--since", default=None, help="ISO date or datetime, inclusive.")
@click.option("--until", default=None, help="ISO date or datetime, exclusive.")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default stdout).")
def ledger_export(fmt: str, since: str | None, until: str | None, output: Any) -> None:
    """Stream every decision (with its attempts' state) as CSV or JSON lines."""
    from refunds_plugin.cli.finance import export_with_progress
    from refunds_plugin.finance.reports import parse_when

    url = _config().database_url
    count = export_with_progress(url, output, fmt, parse_when(since), parse_when(until))
    click.echo(f"exported {count} decision(s)", err=True)


def _register() -> None:
    from refunds_plugin.cli import finance, policy, saleor, trouble

    for command in (policy.policy, *finance.commands, saleor.saleor, trouble.trouble):
        main.add_command(command)
    for command in finance.ledger_commands:
        ledger.add_command(command)


_register()
