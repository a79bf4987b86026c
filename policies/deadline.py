"""The last moment, and the last day, a window of whole days still accepts.

A window counts whole days since its start (``Context.age_days`` is ``(now - start).days``,
which floors), and passes while that count is at most ``days``: it accepts until
``start + (days + 1) days`` exclusive. Every page, email and answer that states a window's
deadline takes it from here, so the deadline people read is the one the decision keeps; the
pages state ``last_moment`` (``catalogue.deadline``: its day, and its minute in UTC when it ends
partway through a day, so "until 5 December" never refuses someone that afternoon).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

_TICK = timedelta(microseconds=1)


def last_moment(start: datetime, days: int) -> datetime:
    """The last moment a ``days``-day window from ``start`` still passes."""
    return start + timedelta(days=days + 1) - _TICK


def last_day(start: datetime, days: int) -> date:
    """The calendar day of ``last_moment``, in UTC: the zone every stored time is kept in and
    every customer-facing date is written in (a naive time is taken as UTC, as stored)."""
    end = last_moment(start, days)
    return (end if end.tzinfo is None else end.astimezone(UTC)).date()
