"""French and Spanish say a deadline as the last day it is still open ("au plus tard le
19 décembre", "a más tardar el 19 de diciembre"), as English "by" and German "bis zum" do:
never "avant le" / "antes del", which end it a day early. French puts a non-breaking space
before a colon, in every sentence of every page and email."""

from __future__ import annotations

import re
from datetime import date

import pytest

from refunds_plugin.language import catalogue
from tests.unit.language.po import translated

BEFORE_THE_DAY = re.compile(r"(?:avant le|antes del) (?:\{|%\()")


@pytest.mark.parametrize("locale", ["fr", "es"])
def test_no_deadline_is_said_as_before_its_day(locale: str) -> None:
    assert [(i, s) for i, s in translated(locale) if BEFORE_THE_DAY.search(s)] == []


@pytest.mark.parametrize(("locale", "msgid", "expected"), [
    ("fr", "Please send it by {date}.", "Merci de l'envoyer au plus tard le 19 décembre 2026."),
    ("es", "Please send it by {date}.", "Envíalo a más tardar el 19 de diciembre de 2026."),
    ("de", "Please send it by {date}.", "Bitte senden Sie es bis zum 19. Dezember 2026."),
])
def test_the_pages_say_the_return_by_day_as_the_last_open_day(
    locale: str, msgid: str, expected: str,
) -> None:
    day = catalogue.day(date(2026, 12, 19), locale)

    assert catalogue.gettext(locale, msgid).format(date=day) == expected


def test_every_french_colon_has_a_non_breaking_space_before_it() -> None:
    loose = [(i, s) for i, s in translated("fr")
             if any(before != "\xa0" for before in re.findall(r"(.):(?!//)", s))]

    assert loose == []
    assert catalogue.gettext("fr", "{kind}: {amount}") == "{kind}\xa0: {amount}"
    assert catalogue.gettext("fr", "Send the parcel to:") == "Envoyez le colis à\xa0:"
