"""The returns pages' language choice: a link per shipped language (``?lang=de``), kept in the
session for the rest of the journey, read before the order's language (``webhooks.language``).

Links, not a script: they work in any browser; a GET changes nothing but the session's choice,
so the POST forms (their CSRF token is the session's) and the look-up limits (POSTs) are as
before. A ``lang`` that names no shipped language is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale
from flask import Blueprint, request, session, url_for
from flask_babel import get_locale

from refunds_plugin.language import LOCALES, normalise
from webhooks.language import CHOICE_KEY


@dataclass(frozen=True)
class Choice:
    code: str  # "de": the link's lang and hreflang
    name: str  # "Deutsch": the language's name in itself
    href: str  # this page again, in that language
    current: bool


def name_of(code: str) -> str:
    """A language's name in itself, as a heading starts it ("Français", not "français")."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def _keep() -> None:
    """A ``?lang=`` naming a shipped language is kept for the pages that follow."""
    code = normalise(request.args.get("lang"))
    if code is not None and session.get(CHOICE_KEY) != code:
        session[CHOICE_KEY] = code


def choices() -> list[Choice]:
    """One link per catalogue language, to the page being read (its own address, without any
    other query), the reader's current one marked."""
    current = str(get_locale() or "en")
    endpoint = request.endpoint if request.url_rule is not None else None
    args: dict[str, Any] = dict(request.view_args or {}) if endpoint else {}
    if endpoint is None or endpoint.endswith(".static"):
        endpoint, args = "returns.lookup", {}
    return [Choice(code, name_of(code), url_for(endpoint, **args, lang=code), code == current)
            for code in LOCALES]


def init(bp: Blueprint) -> None:
    bp.before_request(_keep)
    bp.context_processor(lambda: {"languages": choices()})
