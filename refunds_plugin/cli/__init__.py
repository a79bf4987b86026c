"""The ``refunds`` command line: the ``main`` group and every command group it carries.

One module per group, each registered here by name (``refunds --help`` lists them): ``server``
(serve, worker, migrate), ``ledger`` (list, export, head, verify, report), ``finance`` (tokens,
reconcile), ``policy`` (check, explain, simulate, and ``compare`` from ``insights``), ``trouble``
(scan, follow-ups), ``saleor`` (manifest), ``returns`` (list, receive, expire), ``mail``
(preview), ``outbox`` (list, resend) and ``insights`` (reasons, costs, retention, feedback,
fold). They share ``startup`` (settings, runtime, engine), ``tables`` and ``options``, and
never import this module.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import click

from refunds_plugin.cli import (
    finance,
    insights,
    ledger,
    mail,
    outbox,
    policy,
    returns,
    saleor,
    server,
    startup,
    trouble,
)


class _Commands(click.Group):
    """The ``refunds`` group: a setting found wrong after parsing (mail, outbound events,
    templates, the rate limiter's store) is one line, exit 2, as the parser's own refusals
    (``startup.config``); a database without the ledger's tables, one that cannot be
    opened (a file that is no SQLite database included), a wrong or unsupported
    REFUNDS_DATABASE_URL (or its driver missing), or an output on a full disk is named in one
    line with its fix; any other database error keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError

        from refunds_plugin.config import ConfigError

        absent = _absent_sqlite_files()
        try:
            return super().invoke(ctx)
        except ConfigError as exc:  # found by a check after parsing: the parser's exit 2
            stop = click.ClickException(str(exc))
            stop.exit_code = 2
            raise stop from None
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # the output (stdout, or --output) on a full disk: ``ledger export > november.csv``
            raise click.ClickException(
                f"could not write the output ({exc.strerror}): free some space, or write it "
                "elsewhere, and run this again") from None
        except DatabaseError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            text = str(exc.orig).strip().splitlines()[0]
            no_table = isinstance(exc, OperationalError | ProgrammingError) and (
                "no such table" in text or sqlstate == "42P01")
            # no statement: opening it failed (refused, unknown, or a file that is no database)
            connecting = exc.statement is None
            if not (connecting or (no_table and ctx.invoked_subcommand != "migrate")):
                raise
            from sqlalchemy.engine import make_url

            url = make_url(startup.config().database_url).render_as_string(hide_password=True)
            if no_table:
                for path in absent:  # opening it made an empty file: nothing is left behind
                    path.unlink(missing_ok=True)
                raise click.ClickException(
                    f"the database {url} has no ledger tables ({text}): is "
                    "REFUNDS_DATABASE_URL right? A new database needs `refunds migrate` first."
                ) from None
            raise click.ClickException(f"cannot open the database {url}: {text}") from None


def _absent_sqlite_files() -> list[Path]:
    """The configured SQLite file and the files beside it that SQLite and the group commit
    make, those that do not exist yet; none for another database or a setting in error."""
    from sqlalchemy.engine import make_url

    from refunds_plugin.config import load_config

    try:
        url = make_url(load_config().database_url)
    except Exception:  # the command itself says what is wrong with the settings
        return []
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return []
    db = Path(str(url.database))
    return [p for p in (db, *(Path(f"{db}{s}") for s in ("-writer", "-wal", "-shm", "-journal")))
            if not p.exists()]


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="refunds-plugin")
def main() -> None:
    """refunds-plugin: signed storefront, Stripe and Saleor events in, explained refunds out.

    Settings come from REFUNDS_* environment variables and an optional TOML file named by
    REFUNDS_CONFIG_FILE (see the README); the database is REFUNDS_DATABASE_URL (default:
    ./refunds.db, SQLite).
    """
    import logging

    from refunds_plugin.config import log_level
    from refunds_plugin.logs import setup_logging

    level = log_level(os.environ.get("REFUNDS_LOG_LEVEL") or "INFO")
    setup_logging(level)
    # a command that answers and exits (``reconcile``) says its answer, or one error line:
    # stripe-python's INFO lines for each request and retry are for the services' logs
    services = click.get_current_context().invoked_subcommand in ("serve", "worker")
    logging.getLogger("stripe").setLevel(
        logging.NOTSET if services or level == "DEBUG" else logging.WARNING)


main.add_command(server.serve)
main.add_command(server.worker)
main.add_command(server.migrate)
main.add_command(ledger.ledger)
main.add_command(finance.tokens)
main.add_command(finance.reconcile_cmd)
main.add_command(policy.policy)
main.add_command(trouble.trouble)
main.add_command(saleor.saleor)
main.add_command(returns.returns)
main.add_command(mail.mail)
main.add_command(outbox.outbox)
main.add_command(insights.insights)
policy.policy.add_command(insights.compare)
