"""Sentences that remember how they were said, so another reader can read them in their language.

The policy words every message in English (the shop-language text the ledger keeps, unchanged
by any later translation fix). Each message is a ``Said``: a ``str`` (the English text, so every
existing use of it is unchanged) that also holds its message id and parameters. ``structure``
turns one into JSON to store beside the decision (outside the hashed journal); ``render`` says
it again in a reader's language from the catalogues.

The pieces, all ``str`` subclasses reading as their English form:

- ``said(msgid, **params)``: one message; ``msgid`` is the catalogue's key (a ``str.format``
  pattern with named fields), marked for extraction by the ``said`` keyword (``babel.cfg``);
- ``Amount(minor, currency)``: money, formatted for the reader's locale with Babel;
- ``Percent(value)``: a percentage (``12.5%``), written for the reader's locale (``12,5 %``);
- ``Listed(items)``: "a, b and c", joined with the reader's word for "and";
- ``Joined(parts)``: sentences one after another.

Anything else (an item's name, merchant-written text from a policy file) stays as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from refunds_plugin.language import catalogue
from refunds_plugin.money import Money


def _english(value: Any) -> str:
    return str(value)


class Said(str):
    """One message: English text plus its message id and parameters."""

    msgid: str
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, params: Mapping[str, Any]) -> Said:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def __reduce__(self) -> Any:
        return (Said, (self.msgid, dict(self.params)))


def said(msgid: str, **params: Any) -> Said:
    return Said(msgid, params)


def N_(msgid: str) -> str:  # gettext's name for "mark for the catalogue, say later"
    return msgid


class Amount(str):
    """Money in integer minor units; its text (the ledger's English) is ``1234.50 EUR``
    (``Money``'s own form), and ``render`` writes it for the reader: ``1,234.50 EUR``."""

    minor: int
    currency: str

    def __new__(cls, minor: int, currency: str) -> Amount:
        self = super().__new__(cls, str(Money(int(minor), currency)))
        self.minor, self.currency = int(minor), currency
        return self

    def __reduce__(self) -> Any:
        return (Amount, (self.minor, self.currency))


class Percent(str):
    """A percentage; its text (the ledger's English) is ``12.5%``, the policy's figure as it
    was always said, and ``render`` writes it for the reader: ``12,5 %`` in German."""

    value: str

    def __new__(cls, value: object) -> Percent:
        self = super().__new__(cls, f"{value}%")
        self.value = str(value)
        return self

    def __reduce__(self) -> Any:
        return (Percent, (self.value,))


class Listed(str):
    """Items joined as "a, b and c"."""

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> Listed:
        got = tuple(items)
        text = "".join(got) if len(got) <= 1 else ", ".join(got[:-1]) + " and " + got[-1]
        self = super().__new__(cls, text)
        self.items = got
        return self

    def __reduce__(self) -> Any:
        return (Listed, (self.items,))


class Joined(str):
    """Sentences one after another, empty ones left out."""

    parts: tuple[str, ...]

    def __new__(cls, parts: Iterable[str], sep: str = " ") -> Joined:
        got = tuple(p for p in parts if p)
        self = super().__new__(cls, sep.join(got))
        self.parts = got
        return self

    def __reduce__(self) -> Any:
        return (Joined, (self.parts,))


# --- stored form ---------------------------------------------------------------------------------


def structured(value: str) -> bool:
    """Whether ``value`` holds more than its text (worth storing as ``structure``)."""
    return isinstance(value, (Said, Joined, Listed, Amount, Percent))


def structure(value: Any) -> Any:
    """JSON for a value: ``{"m", "p"}`` a message, ``{"$"}`` money, ``{"%"}`` a percentage,
    ``{"and"}`` a list, ``{"j"}`` sentences; text and numbers as themselves."""
    if isinstance(value, Said):
        return {"m": value.msgid, "p": {k: structure(v) for k, v in value.params.items()}}
    if isinstance(value, Amount):
        return {"$": [value.minor, value.currency]}
    if isinstance(value, Percent):
        return {"%": value.value}
    if isinstance(value, Listed):
        return {"and": [structure(v) for v in value.items]}
    if isinstance(value, Joined):
        return {"j": [structure(v) for v in value.parts]}
    if isinstance(value, str):
        return str(value)
    return value


def rebuild(data: Any) -> Any:
    """``structure`` read back: the same English text with its structure."""
    if isinstance(data, dict):
        if "m" in data:
            return Said(str(data["m"]), {k: rebuild(v) for k, v in data.get("p", {}).items()})
        if "$" in data:
            return Amount(int(data["$"][0]), str(data["$"][1]))
        if "%" in data:
            return Percent(str(data["%"]))
        if "and" in data:
            return Listed(rebuild(v) for v in data["and"])
        if "j" in data:
            return Joined(rebuild(v) for v in data["j"])
    return data


# --- reading it in a language ---------------------------------------------------------------------


def render(value: Any, locale: str) -> str:
    """``value`` in ``locale``'s words. Plain text reads as stored; English reads as stored but
    for its money, written for a reader (``1,234.56 USD`` where the ledger keeps
    ``1234.56 USD``)."""
    if not structured(value):
        return str(value)
    return str(_render(value, locale))


def as_stored(text: str, stored: str | None) -> str:
    """A stored sentence (``decisions.explanation``) with its stored ids (``decisions.said``)
    rebuilt, ready to ``render``: the plain text when it has none, when they cannot be read, or
    when they would say something other than what was recorded."""
    try:
        again = rebuild(json.loads(stored)) if stored else None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        again = None
    return text if again is None or str(again) != text else again


def said_again(text: str, stored: str | None, locale: str) -> str:
    """A stored sentence for a reader in ``locale`` (``as_stored``, then ``render``)."""
    return render(as_stored(text, stored), locale)


def _render(value: Any, locale: str) -> Any:
    if isinstance(value, Said):
        params = {k: _render(v, locale) for k, v in value.params.items()}
        pattern = catalogue.gettext(locale, value.msgid)
        if not params:  # as ``Said`` writes it: a message without fields is not a pattern
            return pattern
        try:
            return pattern.format(**params)
        except (KeyError, IndexError, ValueError):  # a translation naming a wrong field
            return value.msgid.format(**params)
    if isinstance(value, Amount):
        return catalogue.money(value.minor, value.currency, locale)
    if isinstance(value, Percent):
        return catalogue.percent(value.value, locale)
    if isinstance(value, Listed):
        return catalogue.listed([str(_render(v, locale)) for v in value.items], locale)
    if isinstance(value, Joined):
        return " ".join(str(_render(p, locale)) for p in value.parts)
    return value
