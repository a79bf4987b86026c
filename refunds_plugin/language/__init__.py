"""The languages a customer can read: which one a reader gets, and the catalogues' home.

Everything a customer reads goes through Babel's message catalogues in ``translations/``
(``<locale>/LC_MESSAGES/messages.po``, compiled to ``.mo`` at build and test time). A page's
reader language is the one chosen on the returns pages (``?lang=``), then the order's
(``order.paid``'s ``locale``, Saleor's ``languageCode``), then the browser's
``Accept-Language``, then the shop's ``REFUNDS_DEFAULT_LOCALE``. A customer's mail about a
return (``written_in``) is in the language they asked for it in (chosen on the returns pages,
or a storefront return's ``locale``: ``decisions.chosen_locale``), then the order's, then the
shop's default: never the browser's, since a worker sends it with no request at hand. Only
``LOCALES`` count; any other falls through.
"""

from __future__ import annotations

from pathlib import Path

LOCALES: tuple[str, ...] = ("en", "de", "fr", "es")
TRANSLATIONS = Path(__file__).with_name("translations")


def normalise(code: str | None) -> str | None:
    """The supported language a tag such as ``de-AT``, ``DE_de`` or ``fr`` names, or None.

    Saleor's ``languageCode`` is an enum such as ``DE`` or ``PT_BR``; storefronts send BCP 47
    tags; only the language part decides, since each language is shipped once.
    """
    if not code or not isinstance(code, str):
        return None
    lang = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return lang if lang in LOCALES else None


def pick(*candidates: str | None, default: str = "en") -> str:
    """The first candidate naming a supported language, else ``default``."""
    for c in candidates:
        code = normalise(c)
        if code is not None:
            return code
    return normalise(default) or "en"


def written_in(chosen: str | None, order_locale: str | None) -> str | None:
    """A customer's mail's language: the one they chose when asking (``chosen``, if shipped: on
    the returns pages, or a storefront return's ``locale``), else the order's as stored (None:
    neither; the renderer's ``pick`` then falls back to the shop's default, as it does for an
    order language not shipped)."""
    return normalise(chosen) or order_locale
