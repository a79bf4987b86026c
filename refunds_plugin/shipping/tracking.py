"""What EasyPost's ``tracker.updated`` event means for a return: its parcel's new status,
applied inside the service's event transaction (``Service.easypost_event``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from refunds_plugin.errors import InputError
from refunds_plugin.shipping import returns

log = logging.getLogger("refunds.easypost")


@dataclass(frozen=True)
class TrackerUpdate:
    code: str  # the tracking code
    status: str  # EasyPost's: pre_transit, in_transit, out_for_delivery, delivered, …
    # the shipment whose label the tracker follows (None: a tracker made on its own); another
    # shipment's tracker with our code (another shop on the EasyPost account) is not ours
    shipment_id: str | None = None


def parse(event: dict[str, Any]) -> TrackerUpdate | None:
    """The tracker update an event carries (None: another kind of event)."""
    result = event.get("result")
    if event.get("description") not in ("tracker.updated", "tracker.created") \
            or not isinstance(result, dict):
        return None
    code, status = result.get("tracking_code"), result.get("status")
    if not isinstance(code, str) or not code or not isinstance(status, str):
        return None
    shipment = result.get("shipment_id")
    return TrackerUpdate(code, status, shipment if isinstance(shipment, str) and shipment else None)


def created_at(event: dict[str, Any]) -> datetime:
    """When EasyPost made the event (its ``created_at``), or ``InputError`` naming the cause."""
    raw = event.get("created_at")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"the event's created_at {raw!r} is not a time",
                         code="malformed") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def apply(conn: Connection, update: TrackerUpdate, event_id: str,
          now: datetime) -> tuple[str | None, tuple[str, ...]]:
    """Move the return of ``update.code``; the note and the attempts released. A return whose
    row cannot be read is left as it is for a person (``not_applied``): the note says so."""
    ret = returns.tracked(conn, update.code, update.shipment_id)
    if ret is None:  # the code was known a moment ago; nothing to do if it no longer is
        return "unknown tracking code", ()
    if isinstance(ret, returns.Unreadable):
        return not_applied(ret, update.status), ()
    released = returns.mark_tracking(conn, ret, update.status, event_id, now)
    note = f"return {ret.decision_id}: {update.status}"
    if released:
        note += f"; released {len(released)} attempt(s)"
    return note, released


def not_applied(ret: returns.Unreadable, status: str) -> str:
    """The event's note when its return's row cannot be read: the carrier's status is kept
    in the recorded event (its payload), nothing is changed, and a person repairs the row."""
    return (f"{NOT_APPLIED} of decision {ret.decision_id}, order {ret.order_id}: {status} not "
            f"applied: its stored return (return_shipments) cannot be read ({ret.why}); a "
            "person must repair the row and apply the status")


NOT_APPLIED = "the return"  # how a note of ``not_applied`` starts (``log_event`` says it loudly)


def log_event(event_id: str, code: str, note: str | None) -> None:
    """The log line of a recorded update: an error (one line, naming the return) when it
    could not be applied, else info."""
    if note is not None and note.startswith(NOT_APPLIED):
        log.error("tracker update %s: %s", event_id, note,
                  extra={"event_id": event_id, "tracking_code": code})
        return
    log.info("tracker update recorded", extra={"event_id": event_id, "tracking_code": code,
                                               "note": note})


def log_ignored(event_id: str, found: TrackerUpdate | None) -> None:
    why = "unknown tracking code" if found else "not a tracker update"
    log.info("easypost event ignored: %s", why,
             extra={"event_id": event_id, "tracking_code": found.code if found else None})
