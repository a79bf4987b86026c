""""How did we do?": one answer per decision (1 to 5, an optional comment), from a signed link
on the answer and status pages and in the final emails; no login. The link is the decision id
and an HMAC of it under the instance's key (``REFUNDS_SECRET_KEY``, else the key kept by
``ledger/instance.py``; made in ``notify/links.py``), so it cannot be made for another decision.
It is asked once the answer is final (approved or declined, by the policy or by a person closing
the review) and works for ``links.FEEDBACK_DAYS`` (14) from that answer: the first answer is
stored, a later one replaces it. A new rating keeps the stored comment unless a comment is sent
with it (an empty comment field sent on purpose clears it). While the decision is in review,
after the window, or with a forged link, nothing is stored.

Summaries group the answers by outcome, the customer's reason, resolution, policy version and
the time the money took (decision to last succeeded attempt; "dry run (no money moved)" where
the dry-run provider "paid", "Stripe test mode (no real money moved)" where Stripe paid with a
test key).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.insights.dryrun import TEST_WORDS
from refunds_plugin.insights.dryrun import WORDS as DRY
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.tables import (
    decisions,
    feedback,
    refund_attempts,
    return_lines,
    reviews,
)
from refunds_plugin.notify.links import (
    answered,
    feedback_signature,
    feedback_until,
)

MAX_COMMENT = 2000
RATINGS = (1, 2, 3, 4, 5)


def signed(key: str, decision_id: str, signature: str) -> bool:
    return hmac.compare_digest(feedback_signature(key, decision_id).encode(), signature.encode())


@dataclass(frozen=True)
class Answer:
    status: str  # open | saved | replaced | forged | unknown | pending | expired | invalid
    rating: int | None = None
    comment: str | None = None
    open_until: datetime | None = None


def askable(answered_at: datetime | None, now: datetime) -> bool:
    """Whether a page or an email may ask "How did we do?" now: the answer is final and its
    window still open (``answered_at`` as ``DecisionStatus.decided_at`` says it)."""
    until = feedback_until(answered_at)
    return until is not None and now < until


def _answered_at(engine: Engine, decision_id: str) -> tuple[bool, datetime | None]:
    with engine.connect() as conn:
        return answered(conn, decision_id)


def current(engine: Engine, key: str, decision_id: str, signature: str, now: datetime
            ) -> Answer:
    """What the link may do now: ``open`` (with the answer so far, if any), or why not."""
    problem = _check(engine, key, decision_id, signature, now)
    if isinstance(problem, Answer):
        return problem
    with engine.connect() as conn:
        row = conn.execute(select(feedback.c.rating, feedback.c.comment).where(
            feedback.c.decision_id == decision_id)).first()
    return Answer("open", row.rating if row else None, row.comment if row else None, problem)


def _check(engine: Engine, key: str, decision_id: str, signature: str, now: datetime
           ) -> Answer | datetime:
    """The window's end for a good link; else the refusal (nothing is read or stored)."""
    if not signed(key, decision_id, signature):
        return Answer("forged")
    known, answered = _answered_at(engine, decision_id)
    if not known:
        return Answer("unknown")
    until = feedback_until(answered)
    if until is None:
        return Answer("pending")
    if now >= until:
        return Answer("expired", open_until=until)
    return until


def answer(engine: Engine, key: str, decision_id: str, signature: str, rating: Any,
           comment: str | None, now: datetime) -> Answer:
    """Store the answer (or replace the earlier one) if the link is good and still open.
    ``comment`` None (no comment field sent, as the 1-5 buttons send) keeps a stored comment;
    a comment sent, even empty, replaces it."""
    problem = _check(engine, key, decision_id, signature, now)
    if isinstance(problem, Answer):
        return problem
    try:
        stars = int(rating)
    except (TypeError, ValueError):
        return Answer("invalid", open_until=problem)
    if stars not in RATINGS:
        return Answer("invalid", open_until=problem)
    text = (comment or "").strip()[:MAX_COMMENT] or None
    values: dict[str, Any] = {"rating": stars} if comment is None else \
        {"rating": stars, "comment": text}
    with write_tx(engine) as conn:
        made = conn.execute(_insert_once(conn.dialect.name), {
            "decision_id": decision_id, "rating": stars, "comment": text, "answered_at": now,
            "changes": 0,
        }).scalar()
        if made is not None:
            return Answer("saved", stars, text, problem)
        kept = conn.execute(
            update(feedback).where(feedback.c.decision_id == decision_id)
            .values(**values, changed_at=now, changes=feedback.c.changes + 1)
            .returning(feedback.c.comment)).scalar()
    return Answer("replaced", stars, kept, problem)


def _insert_once(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the first answer wins the row."""
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(feedback)
    return ins.on_conflict_do_nothing().returning(feedback.c.decision_id)


# --- summaries -----------------------------------------------------------------------------------

DIMENSIONS = ("outcome", "reason", "resolution", "policy", "time_to_money")
SPEED = ((3600, "within 1 hour"), (86_400, "within 1 day"), (3 * 86_400, "within 3 days"),
         (None, "more than 3 days"))


def speed(seconds: int | None, dry: bool = False, test: bool = False) -> str:
    """The time-to-money bucket; a refund or credit "paid" by the dry-run provider moved no
    money, nor one Stripe made in its test mode (``test``) real money, so neither is in any of
    the time buckets."""
    if dry:
        return DRY
    if test:
        return TEST_WORDS
    if seconds is None:
        return "no money moved"
    for limit, words in SPEED:
        if limit is None or seconds <= limit:
            return words
    return SPEED[-1][1]


@dataclass(frozen=True)
class Rated:
    decision_id: str
    rating: int
    comment: str | None
    outcome: str
    reason: str
    resolution: str
    policy: str
    time_to_money: str


def _rated(engine: Engine, p: Period) -> list[Rated]:
    d = decisions.c
    with engine.connect() as conn:
        rows = list(conn.execute(
            select(feedback.c.decision_id, feedback.c.rating, feedback.c.comment, d.outcome,
                   d.resolution, d.policy_name, d.policy_hash, d.created_at,
                   reviews.c.status.label("review"))
            .select_from(feedback.join(decisions, d.id == feedback.c.decision_id)
                         .outerjoin(reviews, reviews.c.decision_id == d.id))
            .where(d.created_at >= p.since, d.created_at < p.until)
            .order_by(d.created_at, d.id)))
        ids = [r.decision_id for r in rows]
        why: dict[str, set[str]] = {}
        paid: dict[str, list[Any]] = {}
        if ids:
            for i, reason in conn.execute(select(return_lines.c.decision_id,
                                                 return_lines.c.reason)
                                          .where(return_lines.c.decision_id.in_(ids))):
                why.setdefault(i, set()).add(reason)
            for i, status, done, provider, live in conn.execute(
                    select(refund_attempts.c.decision_id, refund_attempts.c.status,
                           refund_attempts.c.completed_at, refund_attempts.c.provider,
                           refund_attempts.c.livemode)
                    .where(refund_attempts.c.decision_id.in_(ids))):
                paid.setdefault(i, []).append((status, aware(done), provider, live))
    out = []
    for r in rows:
        reasons = sorted(why.get(r.decision_id, ()))
        atts = paid.get(r.decision_id, [])
        seconds = None
        if atts and all(s == AttemptStatus.SUCCEEDED.value and t for s, t, _, _ in atts):
            seconds = int((max(t for _, t, _, _ in atts) - aware(r.created_at)).total_seconds())
        dry = any(provider == DRYRUN_PROVIDER for _, _, provider, _ in atts)
        test = any(live is False for _, _, _, live in atts)  # Stripe's test mode
        outcome = r.outcome if r.review in (None, "open") else f"review {r.review}"
        out.append(Rated(r.decision_id, int(r.rating), r.comment, outcome,
                         reasons[0] if len(reasons) == 1 else ("mixed" if reasons else "none"),
                         r.resolution, f"{r.policy_name} ({r.policy_hash[:12]})",
                         speed(seconds, dry, test)))
    return out


def average_x100(stars: list[int]) -> int | None:
    """The mean rating times 100, rounded half up, in integers: 1, 2, 5 → 267."""
    if not stars:
        return None
    return (200 * sum(stars) + len(stars)) // (2 * len(stars))


def _group(rated: Iterable[Rated], dimension: str) -> list[dict[str, Any]]:
    groups: dict[str, list[int]] = {}
    for r in rated:
        groups.setdefault(getattr(r, dimension), []).append(r.rating)
    return [{"dimension": dimension, "value": value, "answers": len(stars),
             "average_x100": average_x100(stars),
             "ratings": {str(s): stars.count(s) for s in RATINGS}}
            for value, stars in sorted(groups.items())]


@dataclass(frozen=True)
class Summary:
    period: Period
    rated: list[Rated]

    def groups(self) -> list[dict[str, Any]]:
        return [g for dim in DIMENSIONS for g in _group(self.rated, dim)]

    def to_json(self) -> dict[str, Any]:
        stars = [r.rating for r in self.rated]
        return {**self.period.to_json(), "answers": len(stars),
                "average_x100": average_x100(stars),
                "ratings": {str(s): stars.count(s) for s in RATINGS},
                "groups": self.groups(),
                "comments": [{"decision_id": r.decision_id, "rating": r.rating,
                              "comment": r.comment} for r in self.rated if r.comment]}


def summary(engine: Engine, p: Period) -> Summary:
    """The answers to the decisions made in the period, grouped."""
    return Summary(p, _rated(engine, p))
