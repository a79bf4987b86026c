"""How the rules put what they found into words: every sentence said (a decision the service
records), or none at all (``worded=False``: ``refunds policy compare``, which reads outcomes and
money only).

A rule makes its result with ``ctx.result(rule, verdict, code, message, saw)`` and its sentences
with ``ctx.said`` and ``ctx.named``. Worded, these are ``RuleResult``, ``said`` and ``named``.
Unworded, no sentence is made and nothing the rule saw is kept: a result holds its rule, verdict
and code, with an empty message and ``saw``. The arguments are still worked out as for a worded
decision (amounts formatted, names listed), so facts that would make a sentence fail fail the
same way; only the ``Said`` objects and the results themselves are not made, and the rules do
not make their ``saw`` (``if ctx.worded``: its values are plain reads, which cannot fail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from refunds_plugin.domain.decision import RuleResult
from refunds_plugin.language.said import Said, said

_NAMED: dict[tuple[str, str, int | None], Said] = {}
_NAMED_MAX = 4096  # sentences kept; all are dropped when full, and said again as needed


def named(msgid: str, name: str, days: int | None = None) -> str:
    """``said(msgid, name=name)`` (and ``days=days`` when given), kept for the next decision
    about the same item: a shop's items recur, the sentence is equal (text, id, parameters) and
    nothing changes a message once made. A name that is not text is said afresh each time."""
    if name.__class__ is not str:
        return said(msgid, name=name) if days is None else said(msgid, name=name, days=days)
    key = (msgid, name, days)
    got = _NAMED.get(key)
    if got is None:
        if len(_NAMED) >= _NAMED_MAX:
            _NAMED.clear()
        got = said(msgid, name=name) if days is None else said(msgid, name=name, days=days)
        _NAMED[key] = got
    return got


def unsaid(msgid: str, **params: Any) -> str:
    """``said`` for an unworded decision: no sentence."""
    return ""


def unnamed(msgid: str, name: str, days: int | None = None) -> str:
    """``named`` for an unworded decision: no sentence."""
    return ""


_BARE: dict[tuple[str, str, str], RuleResult] = {}
_BARE_MAX = 4096  # as ``_NAMED``: codes are few, but a tier's name is part of one


def bare(rule: str, verdict: str, code: str, message: str = "",
         saw: dict[str, Any] | None = None) -> RuleResult:
    """``RuleResult`` for an unworded decision: its rule, verdict and code only, made once (a
    result never changes once made, and no reader of an unworded decision reads ``saw``)."""
    key = (rule, verdict, code)
    got = _BARE.get(key)
    if got is None:
        if len(_BARE) >= _BARE_MAX:
            _BARE.clear()
        got = _BARE[key] = RuleResult(rule, verdict, code, "")
    return got


@dataclass(frozen=True, slots=True)
class Words:
    """The three as one value, for a rule that is also used outside a decision's context
    (``resolution.rounding``, shared with corrections)."""

    said: Callable[..., str]
    named: Callable[..., str]
    result: Callable[..., RuleResult]


WORDED = Words(said, named, RuleResult)
UNWORDED = Words(unsaid, unnamed, bare)
