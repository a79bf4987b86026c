"""What the customer asked to return, line by line, as the ``request_received`` mail lists it:
each line the request named, with its amount (or what it is exchanged for) when the policy took
it, or "not accepted" and the policy's reason when it did not. A request the policy declined
whole lists every line it named, each with the reason, never an empty list.

A line's reason is the rule that refused it (the first ``decline`` of its per-line rules, as
the engine picks it), else the request's own refusal (an unknown line, nothing left to refund).
It is kept as its message ids (``language.said.structure``) so each reader reads it in their
language; a decision read back from its stored body has only the English, which ``reason``
finds again among the explanation's sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from refunds_plugin.domain.decision import Decision, RuleResult
from refunds_plugin.language.said import Joined, Listed, Said, rebuild, render, structure

# the rules that answer for one line (``policies.eligibility``), in the engine's order
LINE_RULES = ("window", "final_sale", "reason", "refund_period")
REQUEST_RULES = ("request_lines", "payment")


def asked(decision: Decision, request_lines: Iterable[Mapping[str, Any]],
          names: Mapping[str, str], items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per line the request named: ``name``, ``quantity``, ``accepted``; an accepted
    one carries its ``item`` (the mail's item, with its amount), a refused one its ``why``."""
    taken = {str(i["line_id"]): dict(i) for i in items}
    whole = next((r for r in decision.trace
                  if r.rule in REQUEST_RULES and r.verdict == "decline"), None)
    out: list[dict[str, Any]] = []
    for rl in request_lines:
        line_id = str(rl.get("line_id", ""))
        entry: dict[str, Any] = {"name": names.get(line_id, line_id),
                                 "quantity": rl.get("quantity")}
        item = taken.pop(line_id, None) if whole is None else None
        if item is not None:
            out.append(entry | {"accepted": True, "item": item})
            continue
        why = _refusal(decision.trace, line_id) or whole
        out.append(entry | {"accepted": False,
                            "why": structure(why.message) if why is not None else None})
    return out


def _refusal(trace: Iterable[RuleResult], line_id: str) -> RuleResult | None:
    for r in trace:
        if r.rule in LINE_RULES and r.verdict == "decline" and r.saw.get("line_id") == line_id:
            return r
    return None


def reason(why: Any, explanation: Any, locale: str) -> str:
    """A refused line's reason in ``locale``: from its stored ids, else (English text only)
    the same sentence found among the explanation's (``explanation``: rebuilt, or text)."""
    found = rebuild(why)
    if isinstance(found, str) and not isinstance(found, Said):
        found = next((s for s in _sentences(explanation) if str(s) == found), found)
    return render(found, locale) if found is not None else ""


def _sentences(value: Any) -> Iterable[Said]:
    """Every ``Said`` in an explanation, its parameters' too (``Not included: {why}``)."""
    if isinstance(value, Said):
        yield value
        for v in value.params.values():
            yield from _sentences(v)
    elif isinstance(value, (Joined, Listed)):
        for part in (value.parts if isinstance(value, Joined) else value.items):
            yield from _sentences(part)
