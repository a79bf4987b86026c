""""How did we do?" on the returns pages: ``/returns/feedback/<decision>/<signature>``.

The answer and status pages carry five buttons posting to the decision's signed link (one click
answers); the page that follows thanks the customer, says until when they may change it and
offers a comment. A forged link, one for another decision or one past its window shows a
friendly page and stores nothing (``refunds_plugin.insights.feedback``). The views are made by
``views(page, message)`` so they share the returns page's rendering without importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request, url_for

from refunds_plugin.insights import feedback as fb
from refunds_plugin.insights.feedback import RATINGS

Page = Callable[..., tuple[str, int]]


def _key() -> str:
    return str(current_app.config["SECRET_KEY"])


def link(decision_id: str) -> str:
    """The decision's signed feedback link (relative to this site)."""
    return url_for("returns.feedback", decision_id=decision_id,
                   signature=fb.sign(_key(), decision_id))


def views(page: Page, message: Page, strings: Callable[[], Any], clock: Callable[[], Any],
          engine: Callable[[], Any]) -> Callable[[str, str], tuple[str, int]]:
    """The one view (GET shows the question, POST answers it), built on the page's helpers."""

    def refused(found: fb.Answer) -> tuple[str, int]:
        t = strings()
        words = t.feedback_expired if found.status == "expired" else t.feedback_invalid
        return message(t.feedback_invalid_heading, words, 410 if found.status == "expired"
                       else 404)

    def view(decision_id: str, signature: str) -> tuple[str, int]:
        t = strings()
        if request.method == "GET":
            found = fb.current(engine(), _key(), decision_id, signature, clock())
            if found.status != "open":
                return refused(found)
            return page("feedback.html", found=found, ratings=RATINGS, done=None,
                        action=request.path)
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
