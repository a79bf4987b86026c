""""How did we do?": one answer per decision (1 to 5, an optional comment), from a signed link
on the answer and status pages; no login. The link is the decision id and an HMAC of it under
the instance's key (``REFUNDS_SECRET_KEY``, else the key kept by ``ledger/instance.py``), so it
cannot be made for another decision. It works for ``WINDOW_DAYS`` from the decision: the first
answer is stored, a later one replaces it; after that, or with a forged link, nothing is stored.

Summaries group the answers by outcome, the customer's reason, resolution, policy version and
the time the money took (decision to last succeeded attempt; "dry run (no money moved)" where
the dry-run provider "paid").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.finance.rows import DRYRUN_PROVIDER
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

WINDOW_DAYS = 14
MAX_COMMENT = 2000
RATINGS = (1, 2, 3, 4, 5)


def sign(key: str, decision_id: str) -> str:
    """The link's signature for one decision (URL-safe, no padding)."""
    mac = hmac.new(key.encode(), f"feedback:{decision_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def signed(key: str, decision_id: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, decision_id).encode(), signature.encode())


@dataclass(frozen=True)
class Answer:
    status: str  # saved | replaced | forged | expired | unknown | invalid
    rating: int | None = None
    comment: str | None = None
    open_until: datetime | None = None


def _decided_at(engine: Engine, decision_id: str) -> datetime | None:
    with engine.connect() as conn:
        return aware(conn.execute(select(decisions.c.created_at).where(
            decisions.c.id == decision_id)).scalar_one_or_none())


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
    decided = _decided_at(engine, decision_id)
    if decided is None:
        return Answer("unknown")
    until = decided + timedelta(days=WINDOW_DAYS)
    if now >= until:
        return Answer("expired", open_until=until)
    return until


def answer(engine: Engine, key: str, decision_id: str, signature: str, rating: Any,
           comment: str | None, now: datetime) -> Answer:
    """Store the answer (or replace the earlier one) if the link is good and still open."""
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
    values = {"rating": stars, "comment": text}
    with write_tx(engine) as conn:
        made = conn.execute(_insert_once(conn.dialect.name), {
            "decision_id": decision_id, **values, "answered_at": now, "changes": 0,
        }).scalar()
        if made is not None:
            return Answer("saved", stars, text, problem)
        conn.execute(update(feedback).where(feedback.c.decision_id == decision_id).values(
            **values, changed_at=now, changes=feedback.c.changes + 1))
    return Answer("replaced", stars, text, problem)


def _insert_once(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the first answer wins the row."""
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(feedback)
    return ins.on_conflict_do_nothing().returning(feedback.c.decision_id)


# --- summaries -----------------------------------------------------------------------------------

DIMENSIONS = ("outcome", "reason", "resolution", "policy", "time_to_money")
SPEED = ((3600, "within 1 hour"), (86_400, "within 1 day"), (3 * 86_400, "within 3 days"),
         (None, "more than 3 days"))


def speed(seconds: int | None, dry: bool = False) -> str:
    """The time-to-money bucket; a refund or credit "paid" by the dry-run provider moved no
    money, so it is in none of the time buckets."""
    if dry:
        return DRY
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
            for i, status, done, provider in conn.execute(
                    select(refund_attempts.c.decision_id, refund_attempts.c.status,
                           refund_attempts.c.completed_at, refund_attempts.c.provider)
                    .where(refund_attempts.c.decision_id.in_(ids))):
                paid.setdefault(i, []).append((status, aware(done), provider))
    out = []
    for r in rows:
        reasons = sorted(why.get(r.decision_id, ()))
        atts = paid.get(r.decision_id, [])
        seconds = None
        if atts and all(s == AttemptStatus.SUCCEEDED.value and t for s, t, _ in atts):
            seconds = int((max(t for _, t, _ in atts) - aware(r.created_at)).total_seconds())
        dry = any(provider == DRYRUN_PROVIDER for _, _, provider in atts)
        outcome = r.outcome if r.review in (None, "open") else f"review {r.review}"
        out.append(Rated(r.decision_id, int(r.rating), r.comment, outcome,
                         reasons[0] if len(reasons) == 1 else ("mixed" if reasons else "none"),
                         r.resolution, f"{r.policy_name} ({r.policy_hash[:12]})",
                         speed(seconds, dry)))
    return out


def _group(rated: Iterable[Rated], dimension: str) -> list[dict[str, Any]]:
    groups: dict[str, list[int]] = {}
    for r in rated:
        groups.setdefault(getattr(r, dimension), []).append(r.rating)
    return [{"dimension": dimension, "value": value, "answers": len(stars),
             "average_x100": sum(stars) * 100 // len(stars),
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
                "average_x100": sum(stars) * 100 // len(stars) if stars else None,
                "ratings": {str(s): stars.count(s) for s in RATINGS},
                "groups": self.groups(),
                "comments": [{"decision_id": r.decision_id, "rating": r.rating,
                              "comment": r.comment} for r in self.rated if r.comment]}


def summary(engine: Engine, p: Period) -> Summary:
    """The answers to the decisions made in the period, grouped."""
    return Summary(p, _rated(engine, p))
