"""The pages about a recorded return, both opened by its signed link (``links.status_token``):
``/returns/answer/<token>``, the answer just given, and ``/returns/status/<token>``, where the
return and its money stand now.

The return form's POST decides, then redirects (303) to the answer's GET page, so the
browser's back button and a reload show the answer again and never post the form twice
(the form's nonce already makes a second post find the first decision). Both pages are in the
order's language and read only the ledger. Built by ``views(hooks)`` so they share the returns
page's rendering without importing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import g
from flask_babel import refresh
from itsdangerous import BadSignature, URLSafeSerializer

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.intake import return_status as ret
from refunds_plugin.intake.returns_page import load_order
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.notify import links, stored
from refunds_plugin.routing import no_money_moves, test_mode
from webhooks.returns import feedback as feedback_mod
from webhooks.returns import render
from webhooks.returns.strings import strings

log = logging.getLogger("refunds.returns")
Page = Callable[..., tuple[str, int]]


@dataclass(frozen=True)
class Hooks:
    """What the views borrow from the returns page."""

    page: Page
    message: Page
    runtime: Callable[[], Runtime]
    signer: Callable[[str], URLSafeSerializer]
    status_url: Callable[[str], str]
    lang: Callable[[], str]


def views(h: Hooks) -> tuple[Callable[[str], tuple[str, int]], Callable[[str], tuple[str, int]]]:
    """(answer, status): the two GET views."""

    def found_by(token: str) -> ret.DecisionStatus | tuple[str, int]:
        """The decision the link names, in its order's language; else the page saying why."""
        t = strings()
        try:
            decision_id = h.signer(links.STATUS_SALT).loads(token)
        except BadSignature:
            decision_id = None
        rt = h.runtime()
        try:
            found = ret.decision_status(rt.engine, decision_id) \
                if isinstance(decision_id, str) else None
        except stored.UNREADABLE as exc:  # a row edited by hand or cut short: a person repairs
            log.error("the page of decision %s cannot be shown: its stored rows cannot be read "
                      "(%s)", decision_id, stored.why(exc), extra={"decision_id": decision_id})
            return h.message(t.status_unreadable_heading, t.status_unreadable, 500)
        if found is None:
            return h.message(t.status_invalid_heading, t.status_invalid, 404)
        g.locale = found.locale  # its mails' (chosen when asking, else the order's) first
        refresh()
        return found

    def in_test_mode(found: ret.DecisionStatus) -> bool:
        """Its attempts went to the dry run; with no attempt yet (a review, a decline) the
        order's own provider says, as it does on the form."""
        rt = h.runtime()
        if found.money:  # Stripe's with a test key moved no real money either
            return any(m.dry_run for m in found.money) or \
                test_mode(rt.config, (m.provider for m in found.money))
        facts = load_order(rt.engine, found.order_id, rt.service.clock(),
                           rt.policy.abuse_window_days)
        return rt.service.dry_run_for(facts) if facts is not None else no_money_moves(rt.config)

    def feedback_url(found: ret.DecisionStatus) -> str | None:
        return feedback_mod.link(found.decision_id, found.decided_at, h.runtime().service.clock())

    def answer(token: str) -> tuple[str, int]:
        found = found_by(token)
        if not isinstance(found, ret.DecisionStatus):
            return found
        rt, d = h.runtime(), found.decision
        # where it stands, as far as it can be read; or now, once a person, the carrier or the
        # warehouse has acted: the answer as first given would contradict the status page
        if d is None or found.unreadable or found.moved_on:
            return status_of(found)
        attempts = rt.service.attempts_of(found.decision_id)
        dry = in_test_mode(found)
        return h.page("answer.html", test_mode=dry, decision=d,
                      items=render.items(d, found.line_names),
                      explanation=render.explanation(d, _money_done(attempts), h.lang(), dry),
                      refused=render.refused(d, found.line_names, h.lang()),
                      attempts=attempts, reference=found.decision_id, exchange=found.exchange,
                      status_url=h.status_url(found.decision_id), moves_money=_moves_money(found),
                      return_instructions=found.instructions, send_by=found.send_by,
                      feedback_url=feedback_url(found))

    def status_of(found: ret.DecisionStatus) -> tuple[str, int]:
        """The status page; what cannot be read is left out and one sentence says so."""
        done = bool(found.money) and all(m.stage == "received" for m in found.money)
        dry, d = in_test_mode(found), found.decision
        return h.page("status.html", test_mode=dry, st=found, decision=d,
                      moves_money=_moves_money(found),
                      return_instructions=found.instructions, send_by=found.send_by,
                      feedback_url=feedback_url(found),
                      items=render.items(d, found.line_names) if d else None,
                      refused=render.refused(d, found.line_names, h.lang()) if d else [],
                      explanation=render.explanation(d, done, h.lang(), dry) if d else None)

    def status(token: str) -> tuple[str, int]:
        found = found_by(token)
        return found if not isinstance(found, ret.DecisionStatus) else status_of(found)

    return answer, status


def _moves_money(found: ret.DecisionStatus) -> bool:
    """Whether any money is in this return, given, due or paid: an even exchange or a decline
    has none, and its pages speak of the return rather than of "your money". A review a person
    declined has none either, whatever amount it would have granted."""
    ex = found.exchange
    amount = found.decision.amount if found.decision is not None \
        and found.state != "declined" else 0  # None: unreadable
    return bool(found.money or amount or found.original_due
                or (ex is not None and (ex.charge_amount or ex.back_amount)))


def _money_done(attempts: tuple[AttemptRow, ...]) -> bool:
    return bool(attempts) and all(a.status == AttemptStatus.SUCCEEDED for a in attempts)
