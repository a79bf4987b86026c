"""The order widget in Saleor's Dashboard: what the ledger knows about one Saleor order, and a
staff user's review decision taken there.

Everything is scoped by a verified ``StaffToken``: an order is shown only when the ledger holds
it as an order *of that Saleor* (the same global id can exist in two stores), a decision is
decided only when it belongs to that order, and only by a user whose token carries
``MANAGE_ORDERS``. The approve/decline form carries a signed form token bound to the user, the
Saleor, the order and the decision, so a form cannot be replayed for another review or by
someone else; the decision itself goes through ``intake.reviews.decide`` and is journalled with
the staff user's e-mail and Saleor user id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import InputError, NotFound
from refunds_plugin.finance import reports
from refunds_plugin.intake import reviews
from refunds_plugin.ledger.tables import decisions, orders
from refunds_plugin.ledger.tables import reviews as reviews_table
from refunds_plugin.saleor.dashboard_token import StaffToken

DECIDE_PERMISSION = "MANAGE_ORDERS"
FORM_SALT = "refunds.saleor-widget.review"
FORM_MAX_AGE_S = 30 * 60

MONEY_WORDS = {  # finance's one-word money status (finance.rows.money_status), in words
    "none": "No money has moved",
    AttemptStatus.PENDING: "Waiting to be paid out",
    AttemptStatus.IN_PROGRESS: "Being paid out",
    AttemptStatus.SENT: "Sent to the payment app; waiting for Saleor's answer",
    AttemptStatus.SUCCEEDED: "Paid out",
    AttemptStatus.FAILED: "Payout failed",
    AttemptStatus.UNKNOWN: "Payout outcome unknown: check before paying again",
    "dry_run": "Dry run: no money moved",
    "test_mode": "Stripe test mode: no real money moved",  # a test key's refund or credit
    "mixed": "Partly paid out",
}


class Forbidden(InputError):
    """The staff user may look, but not decide."""

    code = "forbidden"


@dataclass(frozen=True)
class WidgetDecision:
    row: dict[str, Any]  # finance.rows.decision_row
    money_text: str
    review: dict[str, Any] | None  # the reviews row, when the decision went to a person

    @property
    def open(self) -> bool:
        return bool(self.review) and self.review["status"] == "open"  # type: ignore[index]


@dataclass(frozen=True)
class OrderView:
    order_id: str
    order_number: str | None
    known: bool  # the ledger holds this order for this Saleor
    decisions: list[WidgetDecision]


def _saleor_order(engine: Engine, api_url: str, order_id: str) -> tuple[bool, str | None]:
    """Whether the ledger holds ``order_id`` as an order of the Saleor at ``api_url``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(orders.c.source, orders.c.extra, orders.c.order_number)
            .where(orders.c.order_id == order_id)
        ).first()
    if row is None or row.source != "saleor" or not row.extra:
        return False, None
    saleor = json.loads(row.extra).get("saleor") or {}
    if saleor.get("api_url") != api_url:
        return False, None
    return True, row.order_number


def order_view(engine: Engine, staff: StaffToken, order_id: str) -> OrderView:
    known, number = _saleor_order(engine, staff.api_url, order_id)
    if not known:
        return OrderView(order_id, None, False, [])
    page = reports.find_decisions(engine, {"order": order_id}, 1, reports.MAX_PER_PAGE)
    ids = [r["id"] for r in page.rows]
    with engine.connect() as conn:
        found = {
            r.decision_id: dict(r._mapping)
            for r in conn.execute(
                select(reviews_table).where(reviews_table.c.decision_id.in_(ids))
            )
        }
    out = [
        WidgetDecision(row, MONEY_WORDS.get(row["money_status"], row["money_status"]),
                       found.get(row["id"]))
        for row in page.rows
    ]
    return OrderView(order_id, number, True, out)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=FORM_SALT)


def _binding(staff: StaffToken, order_id: str, decision_id: str) -> list[str]:
    return [staff.api_url, staff.user_id, order_id, decision_id]


def form_token(secret: str, staff: StaffToken, order_id: str, decision_id: str) -> str:
    """The approve/decline form's token: signed, and only good for this user and review."""
    return _serializer(secret).dumps(_binding(staff, order_id, decision_id))


def check_form_token(
    secret: str, token: str, staff: StaffToken, order_id: str, decision_id: str
) -> None:
    try:
        bound = _serializer(secret).loads(token, max_age=FORM_MAX_AGE_S)
    except SignatureExpired:
        raise InputError("this form is too old; reload the order page",
                         code="form_expired") from None
    except BadSignature:
        raise InputError("this form did not come from this widget",
                         code="bad_form_token") from None
    if bound != _binding(staff, order_id, decision_id):
        raise InputError("this form was made for another person or review",
                         code="bad_form_token")


def decide(
    engine: Engine,
    service: reviews.Reviewing,
    staff: StaffToken,
    *,
    order_id: str,
    decision_id: str,
    approve: bool,
    note: str,
    now: datetime,
) -> reviews.ReviewOutcome:
    """A staff user's approve/decline from the widget, journalled under their identity."""
    if not staff.can(DECIDE_PERMISSION):
        raise Forbidden(f"deciding a review needs {DECIDE_PERMISSION} in Saleor; "
                        f"{staff.email} does not have it")
    known, _ = _saleor_order(engine, staff.api_url, order_id)
    with engine.connect() as conn:
        owner = conn.execute(
            select(decisions.c.order_id).where(decisions.c.id == decision_id)
        ).scalar_one_or_none()
    if not known or owner != order_id:
        raise NotFound(f"order {order_id} has no decision {decision_id}", code="no_review")
    return reviews.decide(
        engine, service, decision_id, approve=approve, by=staff.who, note=note, now=now
    )
