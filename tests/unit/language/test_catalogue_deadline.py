"""A deadline is written as its last open moment: the day alone when it ends with the day, else
the day and the minute it ends, in UTC, as each reader writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from policies import deadline
from refunds_plugin.language import catalogue

PAID = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "5 December 2026, 09:59 UTC"),
    ("de", "5. Dezember 2026, 09:59 Uhr UTC"),
    ("fr", "5 décembre 2026 à 09:59 UTC"),
    ("es", "5 de diciembre de 2026, a las 09:59 UTC"),
])
def test_a_deadline_ending_partway_through_a_day_names_its_minute(locale: str,
                                                                  expected: str) -> None:
    assert catalogue.deadline(deadline.last_moment(PAID, 14), locale) == expected


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "4 December 2026"), ("de", "4. Dezember 2026")])
def test_a_deadline_ending_with_its_day_names_the_day_alone(locale: str, expected: str) -> None:
    midnight = datetime(2026, 11, 20, tzinfo=UTC)

    assert catalogue.deadline(deadline.last_moment(midnight, 14), locale) == expected


def test_a_deadline_is_written_in_utc_whatever_zone_it_comes_in() -> None:
    berlin = deadline.last_moment(PAID, 14).astimezone(timezone(timedelta(hours=1)))
    naive = deadline.last_moment(PAID.replace(tzinfo=None), 14)

    assert catalogue.deadline(berlin, "en") == "5 December 2026, 09:59 UTC"
    assert catalogue.deadline(naive, "en") == "5 December 2026, 09:59 UTC"
    assert catalogue.deadline(None, "en") == ""
