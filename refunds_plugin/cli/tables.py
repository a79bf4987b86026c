"""The commands' console tables: columns as wide as their widest cell, joined by two spaces.

A small renderer of our own rather than ``rich``'s ``Table``: the commands' output is kept
byte-for-byte, and rich measures terminal cells (a CJK name counts twice, so its padding differs
from ``str.ljust``), pads every line to the table's width, folds at 80 columns off a terminal
unless told a width, and holds every row, where ``policy simulate`` streams its changed rows
from a file twice (once to measure, once to print) so a large ledger is never in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import click


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
