""""How did we do?" from the status page's signed link: one click answers, a second answer
replaces the first within 14 days, and a forged link, another decision's link or one past its
window shows a friendly page and stores nothing. The answers are summarised by outcome, reason,
resolution, policy version and time to money."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, update

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.insights.feedback import average_x100
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import feedback, refund_attempts
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


def summarised(h: Harness, history: History, answers: dict[str, str]) -> dict[str, Any]:
    """Answer each return's question with one click, then read the summary as finance does."""
    for ret, stars in answers.items():
        resp = h.client().post(feedback_link(h, history.decisions[ret]), data={"rating": stars})
        assert resp.status_code == 200
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    doc: dict[str, Any] = h.client().get(
        "/api/insights/feedback?since=2026-05-01&until=2026-06-15",
        headers={"Authorization": f"Bearer {token}"}).get_json()
    return doc


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
    doc = summarised(*shop, {"r-1": "5", "r-2": "3", "r-4": "1"})
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


def test_money_stripe_paid_in_its_test_mode_took_no_time_to_money(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    with write_tx(h.runtime.engine) as conn:  # as refunds made with a Stripe test key leave them
        conn.execute(update(refund_attempts).values(livemode=False))

    doc = summarised(*shop, {"r-1": "5", "r-2": "3", "r-4": "1"})

    got = {g["value"]: (g["answers"], g["average_x100"])
           for g in doc["groups"] if g["dimension"] == "time_to_money"}
    assert got == {"Stripe test mode (no real money moved)": (2, 400),
                   "no money moved": (1, 100)}


def test_the_command_lists_what_customers_wrote(shop: tuple[Harness, History]) -> None:
    h, history = shop
    bob = history.decisions["r-2"]
    summarised(h, history, {"r-1": "5"})
    wrote = h.client().post(feedback_link(h, bob), data={"rating": "3", "comment": "Slow"})
    assert wrote.status_code == 200
    out = CliRunner().invoke(main, ["insights", "feedback", "--since", "2026-05-01", "--until",
                                    "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.exit_code == 0, out.output
    assert out.output.startswith("Feedback on decisions 2026-05-01 to 2026-06-15: 2 answer(s)\n")
    assert out.output.endswith(f"3 of 5: \u201cSlow\u201d (decision {bob})\n")


def anns_link(shop: tuple[Harness, History]) -> tuple[Harness, str, str]:
    """Ann's decision (r-1, a refund) and the feedback link her status page offers."""
    h, history = shop
    ann = history.decisions["r-1"]
    return h, ann, feedback_link(h, ann)


def thanks_form(resp: Any) -> tuple[str, dict[str, str]]:
    """The comment form on the thanks page: its action and the fields it sends as shown."""
    html = resp.get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)" class="rate-us-comment">(.*?)</form>',
                     html, re.S)
    assert form, html
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">',
                             form.group(2)))
    area = re.search(r'<textarea id="comment" name="comment"[^>]*>(.*?)</textarea>',
                     form.group(2), re.S)
    assert area
    return form.group(1), {**hidden, "comment": area.group(1)}


def test_a_new_rating_keeps_the_comment_and_only_an_emptied_comment_clears_it(
    shop: tuple[Harness, History],
) -> None:
    h, ann, link = anns_link(shop)

    five = h.client().post(link, data={"rating": "5"})  # a click on "5"
    action, fields = thanks_form(five)
    assert (action, fields) == (link, {"rating": "5", "comment": ""})
    commented = h.client().post(action, data={**fields, "comment": "Quick and clear"})
    assert "We have changed your answer to 5 of 5. We have your comment too." in text(commented)
    assert rows(h) == [(ann, 5, "Quick and clear", 1)]

    three = h.client().post(link, data={"rating": "3"})  # a click on "3": no comment field
    assert three.status_code == 200
    assert "We have changed your answer to 3 of 5." in text(three)
    assert "We have your comment too." not in text(three)
    assert rows(h) == [(ann, 3, "Quick and clear", 2)]
    assert thanks_form(three)[1] == {"rating": "3", "comment": "Quick and clear"}  # shown again

    cleared = h.client().post(link, data={"rating": "3", "comment": ""})  # the field emptied
    assert "We have changed your answer to 3 of 5." in text(cleared)
    assert rows(h) == [(ann, 3, None, 3)]


def test_the_status_page_stops_asking_when_the_answers_window_closes(
    shop: tuple[Harness, History],
) -> None:
    h, ann, link = anns_link(shop)
    with h.app.test_request_context():
        token = status_token(ann)

    h.clock.advance(14 * 86_400 - 1)  # the last second of the window: still asked
    assert feedback_link(h, ann) == link
    h.clock.advance(1)
    shown = h.client().get(f"/returns/status/{token}")
    page = text(shown)
    assert shown.status_code == 200 and 'data-state="approved"' in page  # the page, no question
    assert "How did we do?" not in page and 'class="rate-us"' not in page
    assert h.client().post(link, data={"rating": "5"}).status_code == 410
    assert rows(h) == []


def test_averages_are_rounded_half_up_not_cut(shop: tuple[Harness, History]) -> None:
    doc = summarised(*shop, {"r-1": "1", "r-2": "2", "r-3": "5"})
    assert (doc["answers"], doc["average_x100"]) == (3, 267)  # 2.666… was shown as 2.66
    got = {(g["dimension"], g["value"]): g["average_x100"] for g in doc["groups"]}
    assert got[("outcome", "approve")] == 267
    assert got[("reason", "changed_mind")] == 200 and got[("reason", "too_small")] == 500
    assert (average_x100([1, 1, 1, 1, 1, 1, 1, 2]), average_x100([1, 1, 2]),
            average_x100([])) == (113, 133, None)  # 112.5 rounds up; 133.3 down
