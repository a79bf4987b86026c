"""Flask-Babel on the app: each request's reader language, and ``_()`` in the templates.

On the returns pages a language the reader chose (``?lang=``, then the session's
``CHOICE_KEY``: ``webhooks.returns.languages``) comes first. Then a view that knows the order
sets ``g.locale`` (the order's language); otherwise the browser's ``Accept-Language`` decides,
then the shop's default.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel

from refunds_plugin.language import TRANSLATIONS, normalise, pick

CHOICE_KEY = "returns_lang"  # the language chosen on the returns pages, kept in the session


def chosen_locale() -> str | None:
    """The shipped language the reader chose on the returns pages, if any: this request's
    ``?lang=``, else the one kept from an earlier page; anything else is ignored."""
    if request.blueprint != "returns":
        return None
    return normalise(request.args.get("lang")) or normalise(session.get(CHOICE_KEY))


def reader_locale() -> str:
    """The language of whoever this request answers."""
    default = current_app.extensions["refunds"].config.default_locale
    if not has_request_context():
        return pick(default)
    picked = chosen_locale()
    if picked:
        return picked
    chosen = g.get("locale")
    if chosen:
        return pick(chosen, default=default)
    # in the browser's order of preference, by language: "fr-CH, de;q=0.5" is French
    return pick(*(tag for tag, _q in request.accept_languages), default=default)


def answer_locale(*chosen: str | None) -> str:
    """A webhook answer's language: the first of ``chosen`` we ship (the language a return was
    asked in, the order's), else the request's ``Accept-Language``, else the shop's default."""
    default = current_app.extensions["refunds"].config.default_locale
    return pick(*chosen, *(tag for tag, _q in request.accept_languages), default=default)


def init_app(app: Flask, default_locale: str) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=reader_locale)
