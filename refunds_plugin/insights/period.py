"""The period an insight covers and the one before it, checked once for every entry point.

``since`` is inclusive and ``until`` exclusive; the period before has the same length and ends
where this one starts. A period that ends before it starts, or text that is no date, is an
``InputError`` naming the parameter (a 400 on the web, exit 2 on the command line).
``span`` words a period for the command line: a bound at midnight (UTC) as its date, any other
with its time, and an ``until`` nobody gave as "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from refunds_plugin.errors import InputError
from refunds_plugin.finance.rows import parse_param
from refunds_plugin.ledger.line_index import epoch

DEFAULT_DAYS = 30
# the earliest a period before may start: a day after the first time Python can hold, so an
# offset cannot push it out of range (nothing was sold before it anyway)
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def start(self) -> int:
        return epoch(self.since)

    @property
    def end(self) -> int:
        return epoch(self.until)

    def before(self) -> Period:
        """The period of the same length that ends where this one starts, cut at ``EARLIEST``
        (a period from the year 300 to now has no whole period before it)."""
        length = self.until - self.since
        start = self.since - length if self.since - EARLIEST > length else EARLIEST
        return Period(min(start, self.since), self.since)

    def to_json(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def period(since: datetime | None, until: datetime | None, now: datetime,
           default_days: int = DEFAULT_DAYS) -> Period:
    """The period asked for; ``until`` defaults to now and ``since`` to ``default_days`` before
    ``until``. ``since`` must come before ``until``.

    Times are kept to the whole second (``epoch``), so "until now" ends after the current
    second: what was recorded a moment ago, in the second the question is asked, is counted."""
    end = until or until_now(now)
    start = since or end - timedelta(days=default_days)
    if start >= end:
        name = "until" if until is not None else "since"
        raise InputError(f"{name}: the period must end after it starts (since {start.isoformat()}"
                         f", until {end.isoformat()})", code="invalid_parameter")
    return Period(start, end)


def until_now(now: datetime) -> datetime:
    """The exclusive end of "until now": after the current second (times are kept to the
    second), and fixed when the question is asked, so what is written while it is answered is
    not counted."""
    return now.replace(microsecond=0) + timedelta(seconds=1)


def period_params(args: dict[str, str | None], now: datetime,
                  default_days: int = DEFAULT_DAYS) -> Period:
    """``period`` from query parameters (``since``/``until`` text); bad text names its name."""
    return period(parse_param("since", args.get("since")), parse_param("until", args.get("until")),
                  now, default_days)


def bound(at: datetime) -> str:
    """``2026-12-05`` at midnight UTC, else ``2026-12-05 09:30 UTC`` (seconds when not 0)."""
    at = at.astimezone(UTC)
    if at.time() == datetime.min.time():
        return f"{at:%Y-%m-%d}"
    return f"{at:%Y-%m-%d %H:%M:%S UTC}" if at.second or at.microsecond else (
        f"{at:%Y-%m-%d %H:%M UTC}")


def span(since: datetime | None, until: datetime, until_given: bool) -> str:
    """``2026-11-01 to 2026-12-05`` (``until`` exclusive), ``… to now (2026-12-05 13:34:05
    UTC)`` when no ``until`` was given, and ``the first stored to …`` without a ``since``."""
    end = bound(until) if until_given else f"now ({bound(until)})"
    return f"{bound(since)} to {end}" if since is not None else f"the first stored to {end}"
