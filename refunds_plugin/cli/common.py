"""What every ``refunds`` command module shares: the settings, the runtime, an engine, a table.

The command modules import this and the layers below, never ``refunds_plugin.cli`` itself, so
the package has no cycle: ``cli/__init__.py`` imports them to register their commands.

The table is a small renderer of our own rather than ``rich``'s ``Table``: the commands' output
is kept byte-for-byte, and rich measures terminal cells (a CJK name counts twice, so its padding
differs from ``str.ljust``), pads every line to the table's width, folds at 80 columns off a
terminal unless told a width, and holds every row, where ``policy simulate`` streams its changed
rows from a file twice (once to measure, once to print) so a large ledger is never in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from refunds_plugin.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from refunds_plugin.bootstrap import Runtime


class WhenParam(click.ParamType):
    """An ISO 8601 date or datetime (a date is its midnight, naive is UTC); anything else is a
    usage error (exit 2) naming the option, never a traceback."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> datetime | None:
        from refunds_plugin.finance.rows import DATE_HINT, parse_when

        if value is None or isinstance(value, datetime):
            return value
        try:
            return parse_when(value)
        except ValueError:
            self.fail(f"expected {DATE_HINT}, found {value!r}", param, ctx)


WHEN = WhenParam()


def config(**overrides: Any) -> Config:
    """The settings, with the overrides that are not None; a bad setting is a usage error."""
    try:
        return load_config(overrides={k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def runtime(refusal: str = "refusing to start: the policy is invalid", **build: Any) -> Runtime:
    """``bootstrap.build(**build)``; an invalid policy stops the command with ``refusal``."""
    import policies
    from refunds_plugin.bootstrap import build as build_runtime

    try:
        return build_runtime(**build)
    except policies.PolicyError as exc:
        raise click.ClickException(f"{refusal}:\n{exc}") from None


@contextmanager
def engine(url: str | None = None) -> Iterator[Engine]:
    """An engine on ``url`` (default: the configured database), disposed of on the way out."""
    from refunds_plugin.ledger.db import make_engine

    opened = make_engine(url if url is not None else config().database_url)
    try:
        yield opened
    finally:
        opened.dispose()


def column_widths(rows: Iterable[Sequence[Any]]) -> list[int]:
    """The widest cell of each column, the header row included; ``rows`` is read once."""
    widths: list[int] = []
    for row in rows:
        widths = [max(len(str(c)), w) for c, w in zip(row, widths or [0] * len(row), strict=True)]
    return widths


def table_lines(rows: Iterable[Sequence[Any]], widths: Sequence[int], *, right: int | None = None,
                trim: bool = True) -> Iterator[str]:
    """Each row's cells padded to ``widths`` and joined by two spaces.

    Columns from index ``right`` on are right-aligned (numbers); a width of 0 leaves that column
    as it is. ``trim`` drops the padding at the end of a line.
    """
    for row in rows:
        line = "  ".join(
            str(c).rjust(w) if right is not None and i >= right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        yield line.rstrip() if trim else line


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: int | None = None,
               trim: bool = True) -> None:
    """Print a header line and one line per row, each column as wide as its widest cell."""
    every = [headers, *rows]
    for line in table_lines(every, column_widths(every), right=right, trim=trim):
        click.echo(line)
