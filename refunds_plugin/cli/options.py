"""Option types the commands share: ``WHEN``, a date or datetime that is a usage error (exit 2)
naming its option when it is neither, never a traceback; ``period``, the same for a period
that ends before it starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click


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


def period(since: datetime | None, until: datetime | None) -> None:
    """A period that ends before it starts is a usage error (exit 2), never an empty report."""
    if since is not None and until is not None and since >= until:
        raise click.UsageError(f"--until: the period must end after it starts (since "
                               f"{since.isoformat()}, until {until.isoformat()})")


class TokenIdParam(click.ParamType):
    """A token's id as ``refunds tokens list`` prints it (``#2``) or bare (``2``)."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().removeprefix("#")
        if not text.isdigit():
            self.fail(f"expected a token id such as 2 or #2 (see `refunds tokens list`), "
                      f"found {value!r}", param, ctx)
        return int(text)


TOKEN_ID = TokenIdParam()
