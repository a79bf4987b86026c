"""the insights' rows of returns a person approved with another amount carry the final figures

Before this revision a review approved with a changed amount, waived fees or store credit
instead kept the policy's figures in ``return_lines`` and ``return_figures``, so the insights
(money returned per product, fees, kept value, bonus) disagreed with the lists and the
summary. From now on the approval rewrites them (``line_index.index_adjusted``); here the
approvals recorded before are rewritten from their ``review_decided`` entries (the last one
with an ``adjusted`` body, which names the fees waived and the bonus), and their days marked
for the folder (``mark_decision``). Data only: no schema change.

Self-contained: what ``ledger/line_index.py`` did at this revision (``index_adjusted``,
``final_body``, ``mark_decision``; the lines' values as the policy gave them, no cut taken off)
is copied here, over the tables' columns as they stood, so a later change to the app's code or
tables cannot change what upgrading an old ledger does.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

DAY = 86_400  # a rollup's day is ``at // DAY`` (UTC)
# the tables at this revision: the columns read and written here, with their types
DECISIONS = sa.table("decisions", sa.column("id", sa.String(36)),
                     sa.column("order_id", sa.String(255)), sa.column("kind", sa.String(32)),
                     sa.column("amount", sa.BigInteger()), sa.column("body", sa.Text()),
                     sa.column("request", sa.Text()))
RETURN_LINES = sa.table("return_lines", sa.column("decision_id", sa.String(36)),
                        sa.column("line_id", sa.String(255)),
                        sa.column("amount", sa.BigInteger()))
RETURN_FIGURES = sa.table("return_figures", sa.column("decision_id", sa.String(36)),
                          sa.column("customer", sa.String(320)),
                          sa.column("fees", sa.BigInteger()), sa.column("bonus", sa.BigInteger()),
                          sa.column("kept", sa.BigInteger()), sa.column("at", sa.BigInteger()))
ENTRIES = sa.table("ledger_entries", sa.column("seq", sa.BigInteger()),
                   sa.column("entry_type", sa.String(32)), sa.column("subject_id", sa.String(255)),
                   sa.column("body", sa.Text()))
MARKS = sa.table("insight_marks", sa.column("day", sa.Integer()),
                 sa.column("customer", sa.String(320)))


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    reviews = sa.Table("reviews", meta, autoload_with=bind)
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    changed = bind.execute(
        sa.select(reviews.c.decision_id)
        .join(decisions, decisions.c.id == reviews.c.decision_id)
        .where(reviews.c.adjusted_amount.is_not(None), decisions.c.kind == "return")).all()
    for (decision_id,) in changed:
        if index_approval(bind, decision_id):
            mark_decision(bind, decision_id)


def downgrade() -> None:
    """The policy's figures are in the decisions' bodies; nothing to undo in the schema."""


def mark_decision(conn: sa.Connection, decision_id: str) -> None:
    """Mark a return decision's day and customer for the folder."""
    f = RETURN_FIGURES.c
    conn.execute(sa.insert(MARKS).from_select(
        ["day", "customer"],
        sa.select(f.at // DAY, f.customer).where(f.decision_id == decision_id)))


def index_approval(conn: sa.Connection, decision_id: str) -> bool:
    """Rewrite a return decision's rows with its approval's change, read from the last
    ``review_decided`` entry with an ``adjusted`` body; False when no approval changed it."""
    change = None
    for (text,) in conn.execute(
            sa.select(ENTRIES.c.body).where(ENTRIES.c.entry_type == "review_decided",
                                            ENTRIES.c.subject_id == decision_id)
            .order_by(ENTRIES.c.seq)):
        change = json.loads(text).get("adjusted") or change
    body = conn.execute(sa.select(DECISIONS.c.body).where(DECISIONS.c.id == decision_id)
                        ).scalar_one_or_none()
    if change is None or body is None:
        return False
    waived = set(change.get("fees_waived") or ())
    fees = sum(int(f.get("amount", 0)) for f in json.loads(body).get("fees") or ()
               if f.get("code") not in waived)
    _index_adjusted(conn, decision_id, int(change["amount"]), fees, int(change.get("bonus", 0)))
    return True


def _index_adjusted(conn: sa.Connection, decision_id: str, amount: int, fees: int,
                    bonus: int) -> None:
    """The return's lines and figures (fees, bonus, kept value) as the approval left them."""
    d = DECISIONS.c
    row = conn.execute(sa.select(d.body, d.request, d.order_id, d.kind, d.amount)
                       .where(d.id == decision_id)).one_or_none()
    if row is None or row.kind != "return":
        return
    body = _final_body({**json.loads(row.body), "amount": int(row.amount)}, amount, fees, bonus)
    request = json.loads(row.request or "{}")
    _rewrite_lines(conn, decision_id, row.order_id, body, request)
    figures = _figures(body)
    conn.execute(sa.update(RETURN_FIGURES).where(RETURN_FIGURES.c.decision_id == decision_id)
                 .values(fees=figures["fees"], bonus=figures["bonus"], kept=figures["kept"]))


def _rewrite_lines(conn: sa.Connection, decision_id: str, order_id: str, body: dict[str, Any],
                   request: dict[str, Any]) -> None:
    for r in _return_rows(decision_id, order_id, body, request):
        conn.execute(sa.update(RETURN_LINES)
                     .where(RETURN_LINES.c.decision_id == decision_id,
                            RETURN_LINES.c.line_id == r["line_id"])
                     .values(amount=r["amount"]))


def _return_rows(decision_id: str, order_id: str, decision: dict[str, Any],
                 request: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``return_lines`` values of a return decision: what the policy gave each line."""
    given: dict[str, tuple[int, bool]] = {}
    for ln in decision.get("lines") or ():
        amount, kept = given.get(str(ln["line_id"]), (0, False))
        given[str(ln["line_id"])] = (amount + int(ln.get("amount", 0)),
                                     kept or ln.get("return_required", True) is False)
    rows = []
    for rl in request.get("lines") or ():
        amount, kept = given.get(str(rl["line_id"]), (0, False))
        rows.append({"decision_id": decision_id, "line_id": str(rl["line_id"]),
                     "order_id": order_id, "quantity": int(rl["quantity"]),
                     "reason": str(rl["reason"]), "amount": amount, "kept": int(kept)})
    return rows


def _figures(decision: dict[str, Any]) -> dict[str, Any]:
    """The ``return_figures`` fees, bonus and kept value of a return decision."""
    kept = sum(int(ln.get("amount", 0)) for ln in decision.get("lines") or ()
               if ln.get("return_required", True) is False)
    return {"currency": decision["currency"],
            "fees": sum(int(f.get("amount", 0)) for f in decision.get("fees") or ()),
            "bonus": sum(int(r.get("bonus", 0)) for r in decision.get("resolutions") or ()),
            "kept": kept}


def _exchanged_lines(decision: dict[str, Any]) -> set[str]:
    return {str(ln["line_id"]) for ln in (decision.get("exchange") or {}).get("lines") or ()}


def _spread(body: dict[str, Any], change: int) -> list[dict[str, Any]]:
    """The lines with ``change`` spread over those not exchanged, in proportion to their value
    (whole minor units, the remainders to the largest shares; none below 0)."""
    lines = [dict(ln) for ln in body.get("lines") or ()]
    swapped = _exchanged_lines(body)
    moving = [i for i, ln in enumerate(lines) if str(ln["line_id"]) not in swapped]
    was = sum(int(lines[i].get("amount", 0)) for i in moving)
    target = max(0, was + change)
    if moving and was:
        shares = [(target * int(lines[i].get("amount", 0)), i) for i in moving]
        left = target - sum(share // was for share, _ in shares)
        extra = {i for _, i in sorted(shares, key=lambda s: (-(s[0] % was), s[1]))[:left]}
        for share, i in shares:
            lines[i]["amount"] = share // was + (1 if i in extra else 0)
    elif moving:  # nothing to be in proportion to: the first line carries it
        lines[moving[0]]["amount"] = target
    return lines


def _final_body(body: dict[str, Any], amount: int, fees: int, bonus: int) -> dict[str, Any]:
    """The body as a person's approval changed it."""
    policy_fees = sum(int(f.get("amount", 0)) for f in body.get("fees") or ())
    lines = _spread(body, amount + fees - int(body["amount"]) - policy_fees)
    return {**body, "lines": lines, "amount": amount,
            "fees": [{"code": "final", "amount": fees}] if fees else [],
            "resolutions": [{"bonus": bonus}] if bonus else []}
