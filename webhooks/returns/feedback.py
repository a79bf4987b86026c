""""How did we do?" on the returns pages: ``/returns/feedback/<decision>/<signature>``.

The answer and status pages carry five buttons posting to the decision's signed link (one click
answers) once the answer is final and while its window is open; the page that follows thanks the
customer, says until when they may change it and offers a comment (the buttons send no comment,
so a new rating keeps it; the comment form sends its field, so emptying it clears it). A forged
link, one for another decision, one past its window or one for a decision still in review shows
a friendly page and stores nothing (``refunds_plugin.insights.feedback``). The views are made by
``views(page, message)`` so they share the returns page's rendering without importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, request

from refunds_plugin.insights import feedback as fb
from refunds_plugin.insights.feedback import RATINGS
from refunds_plugin.ledger.text import NUL, readable
from refunds_plugin.notify.links import feedback_path

Page = Callable[..., tuple[str, int]]


def _key() -> str:
    return str(current_app.config["SECRET_KEY"])


def link(decision_id: str, answered_at: datetime | None, now: datetime) -> str | None:
    """The decision's signed feedback link (relative to this site), or None when the question
    cannot be answered now: no final answer yet, or its window has closed."""
    if not fb.askable(answered_at, now):
        return None
    return feedback_path(_key(), decision_id)


def views(page: Page, message: Page, strings: Callable[[], Any], clock: Callable[[], Any],
          engine: Callable[[], Any], in_language: Callable[[str], None],
          ) -> Callable[[str, str], tuple[str, int]]:
    """The one view (GET shows the question, POST answers it), built on the page's helpers;
    ``in_language(decision_id)`` puts the page in its order's language, as the status page
    is, once the link's signature holds (a forged link says nothing about any order)."""

    def refused(found: fb.Answer) -> tuple[str, int]:
        t = strings()
        if found.status == "pending":
            return message(t.feedback_heading, t.feedback_pending, 409)
        words = t.feedback_expired if found.status == "expired" else t.feedback_invalid
        return message(t.feedback_invalid_heading, words, 410 if found.status == "expired"
                       else 404)

    def view(decision_id: str, signature: str) -> tuple[str, int]:
        if fb.signed(_key(), decision_id, signature):
            in_language(decision_id)
        t = strings()
        if request.method == "GET":
            found = fb.current(engine(), _key(), decision_id, signature, clock())
            if found.status != "open":
                return refused(found)
            return page("feedback.html", found=found, ratings=RATINGS, done=None,
                        action=request.path)
        if NUL in (request.form.get("comment") or ""):  # no database keeps it: nothing stored
            found = fb.current(engine(), _key(), decision_id, signature, clock())
            if found.status != "open":
                return refused(found)
            # the comment box again with what was typed, less the control characters
            said = request.form.get("rating") or ""
            rating = int(said) if said in {str(r) for r in RATINGS} else found.rating
            return page("feedback.html", 400, found=found, ratings=RATINGS, done=None,
                        action=request.path, error=t.unreadable_text,
                        kept=readable(request.form.get("comment") or ""), kept_rating=rating)
        found = fb.answer(engine(), _key(), decision_id, signature,
                          request.form.get("rating"), request.form.get("comment"), clock())
        if found.status == "invalid":
            return page("feedback.html", 400, found=found, ratings=RATINGS, done=None,
                        action=request.path, error=t.feedback_pick)
        if found.status not in ("saved", "replaced"):
            return refused(found)
        commented = bool((request.form.get("comment") or "").strip())  # say it arrived
        return page("feedback.html", found=found, ratings=RATINGS, done=found.status,
                    action=request.path, commented=commented)

    return view
