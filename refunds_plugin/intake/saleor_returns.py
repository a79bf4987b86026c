"""A person recorded in Saleor's dashboard a return Saleor was never told of, and says so.

The return's ``saleor_returns`` row ended ``failed`` (the order deleted in Saleor, the return
refused, every try used) and opened a ``saleor_return_failed`` follow-up. Once a person has
recorded the return in the dashboard, ``mark_recorded`` moves the row to ``recorded_by_hand``
(``ledger.saleor_returns.recorded_by_hand``: once, journalled with who) and clears the
follow-up, in one transaction. Nothing is sent to Saleor: the person did that. A second submit
(a double click, two admins), a row still being told or told already, and an unknown decision
record nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.errors import Conflict, NotFound
from refunds_plugin.ledger import saleor_returns
from refunds_plugin.ledger.db import iso_time, write_tx
from refunds_plugin.trouble.follow_ups import clear_saleor_return

log = logging.getLogger("refunds.saleor")
NOT_FAILED = {
    "pending": "Saleor is still being told of it; nothing to record by hand",
    "recorded": "Saleor recorded it already",
    "recorded_by_hand": "it was recorded in Saleor by hand already",
}


@dataclass(frozen=True)
class RecordedByHand:
    decision_id: str
    order_id: str
    by: str
    recorded_at: datetime
    follow_up_cleared: bool

    def to_json(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "order_id": self.order_id,
                "status": "recorded_by_hand", "recorded_by": self.by,
                "recorded_at": iso_time(self.recorded_at),
                "follow_up_cleared": self.follow_up_cleared}


def mark_recorded(engine: Engine, decision_id: str, *, by: str, now: datetime) -> RecordedByHand:
    """Record that ``by`` recorded decision ``decision_id``'s failed return in Saleor; once.

    Raises NotFound ``unknown_saleor_return`` (no return of that decision was to be told to
    Saleor) or Conflict ``not_failed`` (still being told, or recorded already): nothing is
    recorded then."""
    with write_tx(engine) as conn:
        found = saleor_returns.status_of(conn, decision_id)
        if found is None:
            raise NotFound(f"decision {decision_id} has no return Saleor was to be told of",
                           code="unknown_saleor_return")
        order_id, status = found
        if not saleor_returns.recorded_by_hand(conn, decision_id, by, now):
            why = NOT_FAILED.get(status, f"its status is {status}")
            raise Conflict(f"the return of decision {decision_id} is not failed: {why}",
                           code="not_failed")
        cleared = clear_saleor_return(conn, decision_id, now) > 0
    log.info("decision %s: its return is recorded in Saleor by hand", decision_id,
             extra={"decision_id": decision_id, "order_id": order_id, "by": by})
    return RecordedByHand(decision_id, order_id, by, now, cleared)
