"""A message's subject, plain text and HTML, from Jinja templates a merchant can override.

Each mail kind is one template, ``mail/<kind>.html``, extending ``mail/base.html`` (the shop's
name, logo and colours) and defining three blocks: ``subject``, ``text`` and ``body`` (HTML);
``mail/parts.html``'s macros are there as ``parts``.
The HTML is rendered with autoescaping and the subject and text without, from the same file.
Templates in ``REFUNDS_TEMPLATES_DIR`` are found first, so a merchant overrides one kind, or
the layout, by putting a file of the same name there.

Every sentence a customer reads is marked for translation (``{% trans %}`` / ``_()``, Jinja's
i18n extension, new-style gettext), from the catalogues in ``refunds_plugin/language``. A
message is in its locale (the order's language, else the shop's ``REFUNDS_DEFAULT_LOCALE``):
its words, its money (``|money``: ``1,234.56 USD`` in English), dates (``|day``) and times
(``|when``, to the second, as the withdrawal receipt page writes them), and the
decision's explanation, said again from its message ids (``explanation_said``,
``language.said``), without its promise of a time for the money where none moves
(``test_mode``).
"""

from __future__ import annotations

import gettext
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    Template,
    TemplateSyntaxError,
)

from policies.explanation import as_dry_run
from refunds_plugin.config import Config, ConfigError
from refunds_plugin.language import catalogue, pick, postal
from refunds_plugin.language.said import N_, rebuild
from refunds_plugin.language.said import render as say
from refunds_plugin.notify.address import reply_to
from refunds_plugin.notify.asked import reason
from refunds_plugin.notify.kinds import kind as kind_of
from refunds_plugin.notify.links import feedback_url, status_url
from refunds_plugin.notify.theme import theme

# the pages' test-mode banner (``webhooks/returns/strings.py``), first in a test-mode email
TEST_MODE = N_("This shop is in test mode: no money moves.")
_BLANKS = re.compile(r"\n(?:[ \t]*\n){2,}")  # a text part keeps one blank line between parts
Translations = Callable[[str | None], gettext.NullTranslations]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    locale: str = "en"  # the language it is written in (``Content-Language``)


def money(minor: int, currency: str) -> str:
    """``123456, "USD"`` → ``1,234.56 USD`` (exact, as an English reader reads it)."""
    return catalogue.money(minor, currency, "en")


def check_templates(folder: str) -> None:
    """``REFUNDS_TEMPLATES_DIR`` read at start: a folder whose templates Jinja can parse, found
    where the service looks (``mail/<kind>.html``); else a ``ConfigError`` naming the file and
    line, rather than the built-in emails sent instead or every email failing later."""
    root = Path(folder)
    var = f"REFUNDS_TEMPLATES_DIR={folder!r}"
    if not root.is_dir():
        raise ConfigError(f"{var} is not a folder: copy refunds_plugin/notify/templates/mail/ "
                          "into a folder of yours (as its mail/ folder) and name that folder")
    top = sorted(p.name for p in root.glob("*.html"))
    if top and not (root / "mail").is_dir():
        raise ConfigError(f"{var} holds {top[0]} but no mail/ folder: templates are found as "
                          f"mail/<kind>.html there (mail/{top[0]}), so it would not be used")
    parser = Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701 - parsed, never rendered
    for path in sorted(root.rglob("*.html")):
        where = path.relative_to(root)
        try:
            parser.parse(path.read_text(encoding="utf-8"), str(where), str(path))
        except TemplateSyntaxError as exc:
            raise ConfigError(f"REFUNDS_TEMPLATES_DIR: {where}, line {exc.lineno}: "
                              f"{exc.message}") from None
        except (OSError, UnicodeDecodeError) as exc:
            why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise ConfigError(f"REFUNDS_TEMPLATES_DIR: {where} cannot be read: {why}") from None


class Renderer:
    def __init__(self, config: Config, secret_key: str | Callable[[], str],
                 translations: Translations | None = None) -> None:
        """``secret_key`` signs the status links (the returns page's key); a callable is asked
        on the first render, so building a renderer reads and writes nothing."""
        self.config = config
        self._secret = secret_key
        self._secret_known: str | None = secret_key if isinstance(secret_key, str) else None
        self._translations = translations or catalogue.translations
        loaders: list[BaseLoader] = [PackageLoader("refunds_plugin.notify", "templates")]
        if config.templates_dir:
            check_templates(config.templates_dir)
            loaders.insert(0, FileSystemLoader(config.templates_dir))
        self._loader = ChoiceLoader(loaders)
        self._envs: dict[str | None, tuple[Environment, Environment]] = {}
        self._lock = threading.Lock()

    def secret_key(self) -> str:
        if self._secret_known is None:
            assert callable(self._secret)
            self._secret_known = self._secret()
        return self._secret_known

    def _environments(self, locale: str | None) -> tuple[Environment, Environment]:
        """(HTML, text) environments for a locale, made once each."""
        with self._lock:
            found = self._envs.get(locale)
            if found is None:
                found = self._envs[locale] = (self._environment(locale, True),
                                              self._environment(locale, False))
            return found

    def _environment(self, locale: str | None, html: bool) -> Environment:
        # the text environment renders the subject and the text/plain part, never HTML
        env = Environment(loader=self._loader, autoescape=html,  # noqa: S701
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                          extensions=["jinja2.ext.i18n"])
        env.install_gettext_translations(self._translations(locale), newstyle=True)  # type: ignore[attr-defined]
        # a date as the pages write it, in every language: ``5 December 2026``
        env.filters["day"] = lambda v: _day_in(v, locale or "en")
        # a send-by moment (``send_by``): its day, and its time where it ends within the day
        env.filters["deadline"] = lambda v: catalogue.deadline(_moment(v), locale) if v else ""
        # items as the explanation and the pages list them: ``2 × Mug and Cup``
        env.filters["listed"] = lambda items: catalogue.listed(list(items), locale or "en")
        env.filters["postal"] = postal.lines  # an address in its country's order
        # a time to the second as the withdrawal's receipt page writes it (``catalogue.minute``)
        env.filters["when"] = lambda v: _moment_in(v, locale or "en")
        if locale in (None, "en"):
            env.filters["money"] = money
        else:
            env.filters["money"] = lambda minor, cur: catalogue.money(minor, cur, locale)
        # the shared pieces, as a global: a block rendered on its own sees no top-level import
        env.globals["parts"] = env.get_template("mail/parts.html").make_module()
        return env

    def render(self, kind: str, context: dict[str, Any], locale: str | None = None,
               now: datetime | None = None) -> Rendered:
        """``now``: when it is rendered (sent); a feedback link whose window closed by then
        (``feedback_until``) is left out."""
        if kind_of(kind).channel != "mail":
            raise ValueError(f"{kind} is an event, not an email")
        locale = pick(locale, default=self.config.default_locale)
        values = self.values(context, locale, now)
        html_env, text_env = self._environments(locale)
        name = f"mail/{kind}.html"
        text_template = text_env.get_template(name)
        subject = " ".join(_block(text_template, "subject", values).split())
        text = _BLANKS.sub("\n\n", _block(text_template, "text", values)).strip() + "\n"
        if values.get("test_mode"):  # first, as the pages' banner: nothing here moves money
            text = f"{catalogue.gettext(locale, TEST_MODE)}\n\n{text}"
        return Rendered(subject, text, html_env.get_template(name).render(values), locale)

    def values(self, context: dict[str, Any], locale: str | None,
               now: datetime | None = None) -> dict[str, Any]:
        """The template's variables: the message's context, the shop, its look, the links (the
        final answers' templates show the feedback link, while it takes answers at ``now``;
        the others ignore it)."""
        link = asked_for = None
        if context.get("decision_id"):
            base, key, decision_id = (self.config.saleor_app_url, self.secret_key(),
                                      str(context["decision_id"]))
            link = status_url(base, key, decision_id)
            asked_for = feedback_url(base, key, decision_id)
            until = context.get("feedback_until")
            if until and now is not None and now >= datetime.fromisoformat(str(until)):
                asked_for = None  # the link would only say it expired
        explanation = context.get("explanation")
        said = context.get("explanation_said")
        if said and locale and explanation is not None:
            again = rebuild(said)
            if str(again) == explanation:  # never other than what was recorded
                explanation = again
        asked = [{**a, "why": reason(a.get("why"), explanation, locale or "en")}
                 for a in context.get("asked") or ()]
        if explanation is not None:  # no money moves in test mode: "we would", no time promised
            told = as_dry_run(explanation) if context.get("test_mode") else explanation
            explanation = say(told, locale or "en")
        said_again = {"explanation": explanation} if explanation is not None else {}
        return {
            **context, **said_again, "locale": locale or "en", "status_url": link,
            "feedback_url": asked_for, "asked": asked,
            "replies": reply_to(self.config) is not None,  # a reply reaches a person
            "shop": {"name": _shop_name(self.config, locale or "en"),
                     "logo_url": self.config.shop_logo_url},
            "theme": theme(self.config.shop_primary_color),
        }


def _shop_name(config: Config, locale: str) -> str:
    """The name the merchant set; unset, "Our shop" in the reader's language (as on the pages)."""
    if config.shop_name == Config.shop_name:
        return catalogue.gettext(locale, Config.shop_name)
    return config.shop_name


def _moment(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _day_in(value: str | datetime | None, locale: str) -> str:
    if value is None or value == "":
        return ""
    return catalogue.day(_moment(value).date(), locale)


def _moment_in(value: str | datetime | None, locale: str) -> str:
    """A time to the second, in UTC, as the reader writes it (``24 November 2026, 12:00:07
    UTC``, ``24. November 2026, 12:00:07 Uhr UTC``), as the withdrawal's receipt page does."""
    if value is None or value == "":
        return ""
    return catalogue.minute(_moment(value), locale, seconds=True)


def _block(template: Template, block: str, values: dict[str, Any]) -> str:
    return "".join(template.blocks[block](template.new_context(values)))
