""""How did we do?" from the status page's signed link: one click answers, a second answer
replaces the first within 14 days, and a forged link, another decision's link or one past its
window shows a friendly page and stores nothing. The answers are summarised by outcome, reason,
resolution, policy version and time to money."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import feedback
from tests.fakes import Harness
from tests.fakes.insights_history import History
from webhooks.returns.views import status_token

NOT_VALID = "This feedback link is not valid. Nothing was recorded."


def rows(h: Harness) -> list[tuple[Any, ...]]:
    with h.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(feedback.c.decision_id, feedback.c.rating, feedback.c.comment,
                   feedback.c.changes).order_by(feedback.c.decision_id))]


def feedback_link(h: Harness, decision_id: str) -> str:
    """The form action the status page offers for this decision."""
    with h.app.test_request_context():
        token = status_token(decision_id)
    html = h.client().get(f"/returns/status/{token}").get_data(as_text=True)
    assert "How did we do?" in html
    found = re.search(r'<form method="post" action="([^"]+)" class="rate-us"', html)
    assert found, html
    return found.group(1)


def text(resp: Any) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def test_one_click_answers_and_a_second_answer_replaces_it(shop: tuple[Harness, History]) -> None:
    h, history = shop
    ann = history.decisions["r-1"]
    link = feedback_link(h, ann)
    assert link.startswith(f"/returns/feedback/{ann}/")

    first = h.client().post(link, data={"rating": "4"})
    assert first.status_code == 200
    assert "We have your answer: 4 of 5." in text(first)
    assert "We have your comment too." not in text(first)  # no comment was sent
    assert "You can change it until 15 June 2026." in text(first)
    assert rows(h) == [(ann, 4, None, 0)]

    h.clock.advance(13 * 86_400)
    second = h.client().post(link, data={"rating": "2", "comment": "  The refund was slow "})
    assert second.status_code == 200
    assert "We have changed your answer to 2 of 5. We have your comment too. Thank you for " \
        "telling us." in text(second)  # the customer sees the comment arrived
    assert rows(h) == [(ann, 2, "The refund was slow", 1)]


def test_forged_other_decisions_expired_and_wrong_answers_store_nothing(
    shop: tuple[Harness, History],
) -> None:
    h, history = shop
    ann, bob = history.decisions["r-1"], history.decisions["r-2"]
    link = feedback_link(h, ann)
    assert h.client().post(link, data={"rating": "5"}).status_code == 200
    before = rows(h)

    signature = link.rsplit("/", 1)[1]
    forged = h.client().post(f"/returns/feedback/{ann}/{signature[:-2]}xx", data={"rating": "1"})
    assert (forged.status_code, NOT_VALID in text(forged)) == (404, True)
    other = h.client().post(f"/returns/feedback/{bob}/{signature}", data={"rating": "1"})
    assert (other.status_code, NOT_VALID in text(other)) == (404, True)
    unknown = h.client().get(f"/returns/feedback/no-such-decision/{signature}")
    assert unknown.status_code == 404
    wrong = h.client().post(link, data={"rating": "7"})
    assert wrong.status_code == 400
    assert "Please choose a number from 1 to 5. Nothing was recorded." in text(wrong)
    assert rows(h) == before

    h.clock.advance(14 * 86_400)  # the window closes 14 days after the decision
    late = h.client().post(link, data={"rating": "1"})
    assert late.status_code == 410
    assert "This feedback link has expired" in text(late)
    assert h.client().get(link).status_code == 410
    assert rows(h) == before == [(ann, 5, None, 0)]


def test_answers_are_summarised_by_outcome_reason_resolution_policy_and_time_to_money(
    shop: tuple[Harness, History],
) -> None:
    h, history = shop
    for ret, stars in (("r-1", "5"), ("r-2", "3"), ("r-4", "1")):
        resp = h.client().post(feedback_link(h, history.decisions[ret]), data={"rating": stars})
        assert resp.status_code == 200
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    doc = h.client().get("/api/insights/feedback?since=2026-05-01&until=2026-06-15",
                         headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (doc["answers"], doc["average_x100"]) == (3, 300)
    got = {(g["dimension"], g["value"]): (g["answers"], g["average_x100"])
           for g in doc["groups"] if g["dimension"] != "policy"}
    assert got == {
        ("outcome", "approve"): (2, 400), ("outcome", "decline"): (1, 100),
        ("reason", "not_as_described"): (1, 500), ("reason", "changed_mind"): (2, 200),
        ("resolution", "refund"): (1, 500), ("resolution", "credit"): (1, 300),
        ("resolution", "none"): (1, 100),
        # paid in the same executor run that followed the decisions
        ("time_to_money", "within 1 hour"): (2, 400),
        ("time_to_money", "no money moved"): (1, 100),
    }
    [policy] = [g for g in doc["groups"] if g["dimension"] == "policy"]
    assert policy["value"].startswith("insights-test (") and policy["answers"] == 3
