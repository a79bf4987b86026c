"""Option types the commands share: ``WHEN``, a date or datetime that is a usage error (exit 2)
naming its option when it is neither, never a traceback; ``period``, the same for a period
that ends before it starts; ``TOKEN_ID``; and ``DECISION_ID``, the one way a command takes a
decision's id: whole, or its first 8 or more characters as ``ledger list`` shows them."""

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
    """A period that ends before it starts, or a ``--since`` after now (a mistyped year), is a
    usage error (exit 2), never an empty report or "they agree"."""
    from datetime import UTC

    if since is not None and until is None and since > datetime.now(UTC):
        raise click.UsageError(f"--since {since.isoformat()} is after now: nothing can have been "
                               "recorded since then (is the year right?)")
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


class DecisionIdParam(click.ParamType):
    """A decision's id, or a unique start of it of at least ``SHORTEST`` characters (``ledger
    list`` and ``returns list`` show eight), resolved to the whole id in the ledger. Too short,
    matching several or none is a usage error (exit 2) naming the option."""

    name = "ID"
    SHORTEST = 8
    SHOWN = 5  # ids listed when a start matches several

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> str:
        from refunds_plugin.cli import startup
        from refunds_plugin.finance.reports import decisions_starting

        given = str(value).strip()
        with startup.engine() as engine:
            total, ids = decisions_starting(engine, given, self.SHOWN)
        if given in ids:  # the whole id, whatever its length
            return given
        if len(given) < self.SHORTEST:
            self.fail(f"give a decision's id or its first {self.SHORTEST} or more characters "
                      f"(as `refunds ledger list` shows them), not {given!r}", param, ctx)
        if total == 0:
            self.fail(f"no decision starts with {given!r} (`refunds ledger list` shows the "
                      "newest)", param, ctx)
        if total > 1:
            more = f" and {total - len(ids)} more" if total > len(ids) else ""
            self.fail(f"{given!r} is the start of {total} decisions: {', '.join(ids)}{more}; "
                      "give more of the id", param, ctx)
        return ids[0]


DECISION_ID = DecisionIdParam()
