"""``/returns/withdraw``: the EU withdrawal function (Article 11a), in two steps.

Reached from the returns page without an account: the order number and email open the order
(the returns look-up, its rate limits and session); without that session the page asks for them
first. Step 1: the customer's name, the whole order or chosen lines, the email for the
confirmation (no reason asked). Step 2: a summary and "Confirm withdrawal". The form carries a
signed nonce (``form_token``) from which the withdrawal's id is derived, so confirming twice
records one withdrawal and sends one receipt. Everything is decided in
``refunds_plugin/intake/withdrawals.py``; this module only parses, calls and renders. Built by
``view(hooks)`` so it shares the returns page's rendering without importing it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.intake import returns_page as ret
from refunds_plugin.intake import withdrawals as wd
from refunds_plugin.language import catalogue
from refunds_plugin.ledger import text
from refunds_plugin.notify.mail import emailed
from refunds_plugin.notify.outbox import valid_email
from webhooks.returns import strings
from webhooks.returns.form import Problem, by_field, on_fields

Page = Callable[..., tuple[str, int]]
SALT = "withdrawal-form"
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


def parse(form: MultiDict[str, str],
          left: list[tuple[str, str, int]]) -> tuple[dict[str, Any], list[Problem]]:
    """The posted step-1 fields: name, email, scope and lines, or what is wrong with them,
    field by field (as the returns form's ``form.parse``)."""
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
        errors.append(Problem(_("Please enter a valid email address for your confirmation."),
                              "email"))
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
                errors.append(Problem(_("Please choose how many of %(name)s, from 0 to "
                                        "%(units)d.", name=line_name, units=units),
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


def view(h: Hooks) -> Callable[[], Any]:
    def withdraw() -> Any:
        order_id = h.session_order()
        if order_id is None:
            if request.method == "GET":  # the look-up first, then back here
                return h.page("lookup.html", order_number="", email="", error=None,
                              next="withdraw")
            return _expired(h)
        rt = h.runtime()
        now = rt.service.clock()
        facts = ret.load_order(rt.engine, order_id, now, rt.policy.abuse_window_days)
        if facts is None:
            return _expired(h)
        if not wd.offered(rt.config, rt.engine, order_id):
            return h.message(_("Withdraw from contract"),
                             _("The withdrawal function is not available for this order. "
                               "You can still start a return."), 404)
        if request.method == "GET" and not wd.remaining(facts):  # say so before the form
            return _nothing_left(h, 200)
        if request.method == "GET":
            token = h.signer(SALT).dumps({"o": order_id, "n": secrets.token_urlsafe(18)})
            return _step1(h, facts, token, {"email": facts.customer.email or "",
                                            "scope": "all"}, [])
        token = request.form.get("form_token", "")
        try:
            issued = h.signer(SALT).loads(token)
        except BadSignature:
            issued = None
        if not isinstance(issued, dict) or issued.get("o") != order_id:
            return _expired(h)
        earlier = wd.find(rt.engine, wd.withdrawal_id(order_id, str(issued["n"])))
        if earlier is not None:  # confirmed before (a double click, a reload): the same one
            answer = wd.become_return(rt.service, earlier) if earlier.decision_id is None \
                else None
            return _received(h, facts, earlier, answer.recorded.id if answer else None)
        left = wd.remaining(facts)
        if not left:
            return _nothing_left(h, 400)
        fields, errors = parse(request.form, left)
        step = request.form.get("step", "review")
        if errors or step == "edit":
            return _step1(h, facts, token, request.form, errors, 400 if errors else 200)
        if step != "confirm":
            return h.page("withdraw_confirm.html", order_name=ret.order_name(rt.engine, order_id),
                          form_token=token, statement=statement_text(), chosen=fields,
                          hidden=_hidden(request.form))
        statement = wd.Statement(order_id, str(issued["n"]), fields["name"], fields["email"],
                                 tuple(fields["lines"]), fields["scope"] == "all",
                                 statement_text(), str(get_locale() or "en"))
        w, answer = wd.withdraw(rt.service, statement, now)
        return _received(h, facts, w, answer.recorded.id if answer else None)

    return withdraw


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
                  last_day=catalogue.deadline(span.last_moment, _lang()))


def _received(h: Hooks, facts: OrderFacts, w: wd.Withdrawal,
              decision_id: str | None) -> tuple[str, int]:
    rt = h.runtime()
    span = wd.period(rt.policy, facts)
    decided = decision_id or w.decision_id
    return h.page("withdrawn.html", w=w, emailed=emailed(rt.config, "withdrawal_receipt"),
                  received=catalogue.minute(w.received_at, _lang(), seconds=True),
                  order_name=ret.order_name(rt.engine, w.order_id),
                  last_day=catalogue.deadline(span.last_moment, _lang()),
                  deadline=_day(w.legal_deadline),
                  status_url=h.status_url(decided) if decided else None)

