"""``/returns/withdraw``: the EU withdrawal function (Article 11a), in two steps.

Reached from the returns page without an account: the order number and email open the order
(the returns look-up, its rate limits and session); without that session the page asks for them
first. Step 1: the customer's name, the whole order or chosen lines, the email for the
confirmation (no reason asked). Step 2 (``/returns/withdraw/confirm``): a summary and "Confirm
withdrawal". Post, redirect, get, as the returns form: each post keeps its fields in the session
and answers with a redirect (303) to the page that shows them (step 1 with what to fix, step 2,
or the receipt at ``/returns/withdraw/received/<signed id>``), so back and reload never post it
again. The form carries a signed nonce (``form_token``) from which the withdrawal's id is
derived, so confirming twice records one withdrawal and sends one receipt. Everything is decided
in ``refunds_plugin/intake/withdrawals.py``; this module only parses, calls and renders. Built by
``views(hooks)`` so it shares the returns page's rendering without importing it.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.intake import return_status
from refunds_plugin.intake import returns_page as ret
from refunds_plugin.intake import withdrawals as wd
from refunds_plugin.language import catalogue
from refunds_plugin.ledger import text
from refunds_plugin.notify import stored
from refunds_plugin.notify.mail import emailed
from refunds_plugin.notify.outbox import valid_email
from webhooks.language import chosen_locale
from webhooks.returns import strings
from webhooks.returns.form import Problem, by_field, on_fields

Page = Callable[..., tuple[str, int]]
SALT = "withdrawal-form"
RECEIPT_SALT = "withdrawal-receipt"  # the receipt page's link: the withdrawal's id, signed
DRAFT_KEY = "returns_withdrawal"  # the fields last posted, shown again by GET
FIELDS = ("name", "email", "scope")  # and line-<i>-id / line-<i>-qty


@dataclass(frozen=True)
class Hooks:
    """What the view borrows from the returns page."""

    page: Page
    message: Page
    runtime: Callable[[], Runtime]
    session_order: Callable[[], str | None]
    signer: Callable[[str], URLSafeSerializer]
    status_url: Callable[[str], str]


def statement_text() -> str:
    return _("I hereby withdraw from my contract for the items below.")


def _day(value: date | None) -> str:
    """A date (or a moment's day in UTC) as every returns page writes it (``28 December 2026``,
    ``28. Dezember 2026``)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return catalogue.day(value, _lang())


def _lang() -> str:
    return str(get_locale() or "en")


def _expired(h: Hooks) -> tuple[str, int]:
    return h.message(_("Please start again"),
                     _("This form has expired. Please start your withdrawal again."), 400)


def parse(form: MultiDict[str, str], left: list[tuple[str, str, int]], *,
          by_mail: bool = True) -> tuple[dict[str, Any], list[Problem]]:
    """The posted step-1 fields: name, email, scope and lines, or what is wrong with them,
    field by field (as the returns form's ``form.parse``); ``by_mail``: the receipt is
    emailed, so the email's message says what it is for."""
    errors: list[Problem] = []
    name = " ".join(form.get("name", "").split())[:200]
    email = form.get("email", "").strip()[:320]
    scope = form.get("scope", "all")
    if not name:
        errors.append(Problem(_("Please enter your full name."), "name"))
    if text.problem(name) or text.problem(email, is_id=True):
        errors.append(Problem(_(strings.ENGLISH["unreadable_text"]),
                              "name" if text.problem(name) else "email"))
    if not valid_email(email):
        errors.append(Problem(_("Please enter a valid email address for your confirmation.")
                              if by_mail else _("Please enter a valid email address."), "email"))
    chosen: list[wd.Chosen] = []
    counted = len(errors)
    if scope == "some":
        for i, (line_id, line_name, units) in enumerate(left):
            if form.get(f"line-{i}-id", line_id) != line_id:
                # a stale page: no field of this one is at fault
                return {}, [Problem(_("This form has expired. Please start your withdrawal "
                                      "again."), f"line-{i}-id")]
            raw = form.get(f"line-{i}-qty", "0").strip()
            qty = int(raw) if raw.isdigit() else -1
            if not 0 <= qty <= units:
                errors.append(Problem(_("%(name)s: choose how many to return, from 0 "
                                        "to %(units)d.", name=line_name, units=units),
                                      f"line-{i}-qty"))
            elif qty:
                chosen.append(wd.Chosen(line_id, line_name, qty))
        if not chosen and len(errors) == counted:
            # the form as a whole: linked to the first quantity (``form.on_fields``)
            errors.append(Problem(_("Please choose at least one item, or the whole order."),
                                  None))
    else:
        scope = "all"
        chosen = [wd.Chosen(line_id, line_name, units) for line_id, line_name, units in left]
    return {"name": name, "email": email, "scope": scope, "lines": chosen}, errors


def views(h: Hooks) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[str], Any]]:
    """(form, summary, receipt): ``/returns/withdraw`` (step 1 by GET; both steps post to it),
    ``/returns/withdraw/confirm`` (step 2) and ``/returns/withdraw/received/<token>``."""

    def withdraw() -> Any:
        order_id = h.session_order()
        if order_id is None:
            if request.method == "GET":  # the look-up first, then back here
                return h.page("lookup.html", order_number="", email="", error=None,
                              next="withdraw")
            return _expired(h)
        facts = _opened(h, order_id)
        if not isinstance(facts, OrderFacts):
            return facts
        return _step1_again(h, facts) if request.method == "GET" else _posted(h, facts)

    def summary() -> Any:
        """Step 2, from the fields last posted (kept in the session): back from the receipt,
        the receipt again; with nothing (valid) posted, step 1."""
        order_id = h.session_order()
        facts = _opened(h, order_id) if order_id is not None else None
        if not isinstance(facts, OrderFacts):
            return facts or _to_step1()
        rt = h.runtime()
        draft = _draft(h, facts.order_id)
        if draft is None:
            return _to_step1()
        earlier = wd.find(rt.engine, wd.withdrawal_id(facts.order_id, draft.nonce))
        if earlier is not None:
            return _to_receipt(h, earlier.id)
        left = wd.remaining(facts)
        fields, errors = parse(draft.form, left) if left else ({}, [])
        if not left or errors:
            return _to_step1()
        return h.page("withdraw_confirm.html",
                      order_name=ret.order_name(rt.engine, facts.order_id),
                      form_token=draft.form.get("form_token", ""), statement=statement_text(),
                      chosen=fields, hidden=_hidden(draft.form),
                      emailed=emailed(rt.config, "withdrawal_receipt"))

    def receipt(token: str) -> Any:
        """The confirmation of a recorded withdrawal, by its signed link alone (no session)."""
        t = strings.strings()
        try:
            wid = h.signer(RECEIPT_SALT).loads(token)
        except BadSignature:
            wid = None
        rt = h.runtime()
        try:
            w = wd.find(rt.engine, wid) if isinstance(wid, str) else None
        except stored.UNREADABLE:  # a row edited by hand: a person repairs it (verify says)
            return h.message(t.status_unreadable_heading, t.status_unreadable, 500)
        facts = None if w is None else ret.load_order(
            rt.engine, w.order_id, rt.service.clock(), rt.policy.abuse_window_days)
        if w is None or facts is None:
            return h.message(t.status_invalid_heading, t.status_invalid, 404)
        return _received(h, facts, w)

    return withdraw, summary, receipt


@dataclass(frozen=True)
class Draft:
    """The fields last posted for an order's form: its nonce (the withdrawal's key), the fields
    (``form_token`` among them) and the step asked for (review | edit | confirm)."""

    nonce: str
    form: MultiDict[str, str]
    step: str


def _nonce(h: Hooks, token: str, order_id: str) -> str | None:
    """The form's nonce, when ``token`` is one this service signed for this order."""
    try:
        issued = h.signer(SALT).loads(token)
    except BadSignature:
        return None
    return str(issued["n"]) if isinstance(issued, dict) and issued.get("o") == order_id else None


def _draft(h: Hooks, order_id: str) -> Draft | None:
    held = session.get(DRAFT_KEY)
    if not isinstance(held, dict) or held.get("o") != order_id:
        return None
    form = MultiDict([(str(k), str(v)) for k, v in held.get("f") or []])
    nonce = _nonce(h, form.get("form_token", ""), order_id)
    return Draft(nonce, form, str(held.get("s"))) if nonce is not None else None


def _opened(h: Hooks, order_id: str) -> OrderFacts | tuple[str, int]:
    """The order the session opened, if it is offered the withdrawal; else the page why not."""
    rt = h.runtime()
    facts = ret.load_order(rt.engine, order_id, rt.service.clock(), rt.policy.abuse_window_days)
    if facts is None:
        return _expired(h)
    if not wd.offered(rt.config, rt.engine, order_id):
        return h.message(_("Withdraw from contract"),
                         _("The withdrawal function is not available for this order. "
                           "You can still start a return."), 404)
    return facts


def _step1_again(h: Hooks, facts: OrderFacts) -> tuple[str, int]:
    """Step 1: as last posted (to fix it, or changed from step 2), else a new form; a form
    already confirmed starts a new one (for what is left)."""
    if not wd.remaining(facts):  # say so before the form
        return _nothing_left(h, 200)
    draft = _draft(h, facts.order_id)
    if draft is not None and wd.find(h.runtime().engine,
                                     wd.withdrawal_id(facts.order_id, draft.nonce)) is None:
        by_mail = emailed(h.runtime().config, "withdrawal_receipt")
        errors = [] if draft.step == "edit" else \
            parse(draft.form, wd.remaining(facts), by_mail=by_mail)[1]
        return _step1(h, facts, draft.form.get("form_token", ""), draft.form, errors,
                      400 if errors else 200)
    token = h.signer(SALT).dumps({"o": facts.order_id, "n": secrets.token_urlsafe(18)})
    return _step1(h, facts, token, {"email": facts.customer.email or "", "scope": "all"}, [])


def _posted(h: Hooks, facts: OrderFacts) -> Any:
    """Post, redirect, get: each step is kept in the session and answered with a redirect
    (303) to the page that shows it, so back and reload never post the form again."""
    order_id = facts.order_id
    nonce = _nonce(h, request.form.get("form_token", ""), order_id)
    if nonce is None:
        return _expired(h)
    rt = h.runtime()
    earlier = wd.find(rt.engine, wd.withdrawal_id(order_id, nonce))
    if earlier is not None:  # confirmed before (a double click): the same one
        if earlier.decision_id is None:
            wd.become_return(rt.service, earlier)
        _spent(order_id)
        return _to_receipt(h, earlier.id)
    left = wd.remaining(facts)
    step = request.form.get("step", "review")
    session[DRAFT_KEY] = {"o": order_id, "s": step, "f": [
        (k, v[:2000]) for k, v in request.form.items(multi=True)
        if k not in ("step", "csrf_token")]}
    fields, errors = parse(request.form, left) if left else ({}, [])
    if not left or errors or step == "edit":  # step 1 says what to fix, or that none is left
        return _to_step1()
    if step != "confirm":
        return redirect(url_for("returns.withdraw_confirm"), 303)
    statement = wd.Statement(order_id, nonce, fields["name"], fields["email"],
                             tuple(fields["lines"]), fields["scope"] == "all",
                             statement_text(), str(get_locale() or "en"), chosen_locale())
    w, _answer = wd.withdraw(rt.service, statement, rt.service.clock())
    _spent(order_id)
    return _to_receipt(h, w.id)


def _spent(order_id: str) -> None:
    """A confirmed form: only its token stays (back to step 2 finds the receipt by it), not the
    name and email."""
    token = request.form.get("form_token", "")
    session[DRAFT_KEY] = {"o": order_id, "s": "confirm", "f": [("form_token", token)]}


def _to_step1() -> Any:
    return redirect(url_for("returns.withdraw"), 303)


def _to_receipt(h: Hooks, wid: str) -> Any:
    return redirect(url_for("returns.withdrawn", token=h.signer(RECEIPT_SALT).dumps(wid)), 303)


def _nothing_left(h: Hooks, status: int) -> tuple[str, int]:
    return h.message(_("Withdraw from contract"),
                     _("A return has been requested for everything in this order."), status)


def _hidden(form: MultiDict[str, str]) -> list[tuple[str, str]]:
    """Step 1's fields, carried through step 2 unchanged."""
    return [(k, v) for k, v in form.items()
            if k in FIELDS or (k.startswith("line-") and k.endswith(("-id", "-qty")))]


def _step1(h: Hooks, facts: OrderFacts, token: str, values: Any, errors: list[Problem],
           status: int = 200) -> tuple[str, int]:
    """Step 1, with what to fix as the returns form shows it: the summary takes the focus and
    links each sentence to its field, which is invalid and described by its message."""
    rt = h.runtime()
    span = wd.period(rt.policy, facts)
    now = rt.service.clock()
    lines = wd.remaining(facts)
    # the first quantity first: "choose at least one item" links there (``form.on_fields``)
    shown = [f"line-{i}-qty" for i in range(len(lines))] + ["name", "email"]
    return h.page("withdraw.html", status, order_name=ret.order_name(rt.engine, facts.order_id),
                  form_token=token, lines=lines, values=values,
                  errors=on_fields(errors, shown), field_errors=by_field(errors, shown),
                  period_open=span.open_at(now),
                  last_day=catalogue.deadline(span.last_moment, _lang()),
                  emailed=emailed(rt.config, "withdrawal_receipt"))


def _received(h: Hooks, facts: OrderFacts, w: wd.Withdrawal) -> tuple[str, int]:
    rt = h.runtime()
    span = wd.period(rt.policy, facts)
    decided = w.decision_id
    # where its return stands, in the status page's one word (approved | checking | declined),
    # so this page tells the customer what to do now exactly as that page does
    found = return_status.decision_status(rt.engine, decided) if decided else None
    return h.page("withdrawn.html", state=found.state if found else None, w=w,
                  emailed=emailed(rt.config, "withdrawal_receipt"),
                  received=catalogue.minute(w.received_at, _lang(), seconds=True),
                  order_name=ret.order_name(rt.engine, w.order_id),
                  last_day=catalogue.deadline(span.last_moment, _lang()),
                  deadline=_day(w.legal_deadline),
                  status_url=h.status_url(decided) if decided else None)
