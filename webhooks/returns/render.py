"""What the answer, quote and status pages say about a decision, worked out once in Python so
the templates only place sentences: items to send back or keep (one entry per order line, with
its quantity), whether "it" or "them", and the explanation with any promise already kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from policies.explanation import as_dry_run, without_promise
from refunds_plugin.domain.decision import Decision, RuleResult
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import Outcome, Reason
from refunds_plugin.intake.returns_page import EarlierReturn
from refunds_plugin.language import catalogue
from refunds_plugin.language.said import Said, render
from webhooks.returns.strings import Strings


@dataclass(frozen=True)
class Items:
    send: tuple[str, ...]  # "2 × Blue enamel mug", once per line
    keep: tuple[str, ...]
    keep_many: bool  # more than one unit to keep: "them", not "it"
    never_came: bool  # every line is "it never arrived": nothing to send or keep
    exchange: tuple[str, ...] = ()  # the new items of an exchange, listed the same way


def items(decision: Decision, names: dict[str, str]) -> Items:
    """Send and keep lists by order line; a line that never arrived is in neither."""
    send: dict[str, int] = {}
    keep: dict[str, int] = {}
    arrived = [ln for ln in decision.lines if ln.reason != Reason.NOT_RECEIVED.value]
    for ln in arrived:
        into = send if ln.return_required else keep
        into[ln.line_id] = into.get(ln.line_id, 0) + ln.quantity

    def said(counts: dict[str, int]) -> tuple[str, ...]:
        return tuple(f"{q} × {names.get(lid, lid)}" if q > 1 else names.get(lid, lid)
                     for lid, q in counts.items())

    ex = decision.exchange.lines if decision.exchange else ()
    return Items(said(send), said(keep), sum(keep.values()) > 1,
                 bool(decision.lines) and not arrived,
                 tuple(f"{ln.quantity} × {ln.name}" if ln.quantity > 1 else ln.name for ln in ex))


@dataclass(frozen=True)
class Refused:
    name: str  # the order line's name
    why: str  # the policy's sentence, in the reader's language

    @property
    def names_it(self) -> bool:
        """The sentence names the item already ("Linen shirt was sold as final sale …"): it
        is said alone, not after the name again."""
        return self.name in self.why


PER_LINE = ("window", "final_sale", "reason")  # the rules that refuse one line, not the request
NOT_INCLUDED = "Not included: {why}"  # how the explanation says each (``policies/explanation``)


def refused(decision: Decision, names: dict[str, str], locale: str = "en",
            ) -> tuple[Refused, ...]:
    """The lines an approval (or a review) leaves out, each with the policy's reason: the first
    refusal per line in the trace, as the engine picks it. The reason is said from the
    explanation's "Not included: …" sentences (stored with their message ids, so they translate)
    where they match the refusals one for one; else the trace's own words. A decline refuses
    everything: its heading and explanation say so."""
    if decision.outcome is Outcome.DECLINE:
        return ()
    first: dict[str, RuleResult] = {}
    for r in decision.trace:
        line_id = r.saw.get("line_id") if r.verdict == "decline" and r.rule in PER_LINE else None
        if isinstance(line_id, str):
            first.setdefault(line_id, r)
    parts = getattr(decision.explanation, "parts", ())
    whys = [p.params["why"] for p in parts if isinstance(p, Said) and p.msgid == NOT_INCLUDED]
    if len(whys) != len(first):
        whys = [r.message for r in first.values()]
    return tuple(Refused(names.get(line_id, line_id), render(why, locale))
                 for line_id, why in zip(first, whys, strict=True))


def names_of(facts: OrderFacts) -> dict[str, str]:
    return {ln.id: ln.name for ln in facts.lines}


def explanation(decision: Decision, money_done: bool, locale: str = "en",
                dry_run: bool = False) -> str:
    """The policy's paragraph in the reader's language (its stored text when it was recorded
    without its message ids), without its promise of when the money will be on its way once
    the money has arrived (a promise already kept reads as one still pending) or where no
    money moves (``dry_run``: the shop's test mode, whose banner says so; there it also says
    "we would" where the policy said "we will", ``as_dry_run``)."""
    text = decision.explanation
    if dry_run:  # "we would": no money moves
        text = as_dry_run(text)
    elif money_done:
        text = without_promise(text)
    return render(text, locale)


def sentence(value: str, locale: str) -> str:
    """One of the policy's sentences (a line's note) in the reader's language."""
    return render(value, locale)


@dataclass(frozen=True)
class EarlierLine:
    text: str  # "Return of Linen shirt requested on 24 November 2026: approved."
    decision_ids: tuple[str, ...]  # one status link each
    # its links read "Follow your money", or "Follow your return" where no money comes (a
    # decline), as its status page is headed
    declined: bool = False


def earlier(found: list[EarlierReturn], t: Strings) -> list[EarlierLine]:
    """An order's returns, one sentence each: what was asked back, when, and where it stands.
    Two that would read the same say the minute each was asked, not only the day; any still
    alike (the same items asked in the same minute) are one line, with a status link each."""
    def said(e: EarlierReturn, when: str) -> str:
        if not e.readable:  # its stored request cannot be read: said, with its status link
            return t["earlier_unreadable"].format(date=when)
        asked = [f"{q} × {name}" if q > 1 else name for q, name in e.asked]
        return t["earlier_return"].format(items=catalogue.listed(asked, t.lang), date=when,
                                          state=t["earlier_" + e.state])

    by_day = [said(e, catalogue.day(e.created_at.date(), t.lang)) for e in found]
    alike = Counter(by_day)
    lines: dict[str, list[str]] = {}
    declined: dict[str, bool] = {}
    for e, text in zip(found, by_day, strict=True):
        if alike[text] > 1:
            text = said(e, catalogue.minute(e.created_at, t.lang))
        lines.setdefault(text, []).append(e.decision_id)
        declined[text] = e.state == "declined"  # alike lines say alike states
    return [EarlierLine(text, tuple(ids), declined[text]) for text, ids in lines.items()]
