"""How a command gets what it works on: its settings (``config``), the assembled service
(``runtime``) or just the database (``engine``), each failing as one clear line.

The command modules import this and the layers below, never ``refunds_plugin.cli`` itself, so
the package has no cycle: ``cli/__init__.py`` imports them to register their commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from refunds_plugin.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from refunds_plugin.bootstrap import Runtime


def config(**overrides: Any) -> Config:
    """The settings, with the overrides that are not None. A bad setting is one line naming
    it, exit 2 as before (1 means "differences found" to ``reconcile``, "altered" to ``ledger
    verify``), without the "Usage:" header and "Try --help" of a usage error, which pointed at
    a command line the operator typed correctly."""
    try:
        return load_config(overrides={k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        stop = click.ClickException(str(exc))
        stop.exit_code = 2
        raise stop from None


def checked(config: Config, refusal: str = "refusing to start: the policy is invalid") -> None:
    """``bootstrap.checked_settings``: the policy and the settings read only when used, before
    a command writes anything (``serve`` keeps its key in the database first)."""
    import policies
    from refunds_plugin.bootstrap import checked_settings

    try:
        checked_settings(config)
    except policies.PolicyError as exc:
        raise click.ClickException(f"{refusal}:\n{exc}") from None


def runtime(refusal: str = "refusing to start: the policy is invalid", **build: Any) -> Runtime:
    """``bootstrap.build(**build)``, on a ledger at this version's revision (``current``); an
    invalid policy stops the command with ``refusal``."""
    import policies
    from refunds_plugin.bootstrap import build as build_runtime

    try:
        made = build_runtime(**build)
    except policies.PolicyError as exc:
        raise click.ClickException(f"{refusal}:\n{exc}") from None
    try:
        current(made.engine)
    except click.ClickException:
        made.engine.dispose()
        raise
    return made


def current(opened: Engine, older_ok: bool = False) -> None:
    """A ledger another version left stops the command in one line with its fix, before
    anything reads it: an older one (the package was upgraded) failed on a missing column, or
    served failing on every request; a newer one was read with tables this version does not
    know. ``older_ok``: ``migrate``, which upgrades it. An empty database passes."""
    from refunds_plugin.ledger.migrate import revision_refusal

    refusal = revision_refusal(opened, older_ok)
    if refusal is not None:
        raise click.ClickException(refusal)


@contextmanager
def engine(url: str | None = None, older_ok: bool = False) -> Iterator[Engine]:
    """An engine on ``url`` (default: the configured database), disposed of on the way out;
    a ledger another version left is refused first (``current``)."""
    from refunds_plugin.ledger.db import make_engine

    opened = make_engine(url if url is not None else config().database_url)
    try:
        current(opened, older_ok)
        yield opened
    finally:
        opened.dispose()
