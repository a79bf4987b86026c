"""A return as stored (read only): ``ReturnRow`` and the look-ups by decision and tracking code.

Kept apart from ``returns.py`` (the state changes) so that what reads a return — the
notifications' context (``notify/causes``), the pages — needs none of the code that changes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import return_shipments
from refunds_plugin.notify import stored

rs = return_shipments.c


@dataclass(frozen=True)
class ReturnRow:
    decision_id: str
    order_id: str
    status: str
    label_status: str
    carrier: str
    address: dict[str, str]
    from_address: dict[str, str] | None
    parcel: dict[str, int]
    refund_on: dict[str, str]
    tracking_code: str | None
    label_url: str | None
    qr_code_url: str | None
    shipment_id: str | None
    carrier_service: str | None
    label_amount: int | None
    label_currency: str | None
    label_fee: int
    return_by: datetime
    grace_days: int
    released_at: datetime | None
    tries: int
    last_error: str | None
    reference: str

    @classmethod
    def from_row(cls, r: Any) -> ReturnRow:
        return_by = aware(r.return_by)
        assert return_by is not None
        return cls(
            r.decision_id, r.order_id, r.status, r.label_status, r.carrier,
            json.loads(r.address), json.loads(r.from_address) if r.from_address else None,
            json.loads(r.parcel) if r.parcel else {}, json.loads(r.refund_on), r.tracking_code,
            r.label_url, r.qr_code_url, r.shipment_id, r.carrier_service,
            None if r.label_amount is None else int(r.label_amount), r.label_currency,
            int(r.label_fee or 0), return_by, int(r.grace_days), aware(r.released_at),
            int(r.tries), r.last_error, r.reference)

    @property
    def expires_at(self) -> datetime:
        return self.return_by + timedelta(days=self.grace_days)

    @property
    def send_by(self) -> datetime:
        """The last moment the customer is told to send it by: the end of ``return_by``'s day
        (UTC) where the grace runs past it, else the moment before the return expires, so a
        day is never told whole when the return closes partway through it."""
        end = datetime.combine(self.return_by.astimezone(UTC).date(), time.max, UTC)
        return end if self.expires_at > end else self.expires_at - timedelta(microseconds=1)

    @property
    def carrier_name(self) -> str | None:
        """The carrier the customer hands the parcel to (``USPS``), when a label was bought."""
        return self.carrier_service.split(" ", 1)[0] if self.carrier_service else None

    def instructions(self) -> dict[str, Any]:
        """``return_instructions`` as the answer, pages and ``ledger list --json`` show them."""
        return {
            "address": self.address,
            "return_by": self.return_by.isoformat(timespec="seconds"),
            "label_url": self.label_url,
            "qr_code_url": self.qr_code_url,
            "tracking_code": self.tracking_code,
            "carrier": self.carrier_name,
            "status": self.status,
            "label_status": self.label_status,
        }


def readable(rows: Iterable[Any], unreadable: dict[str, tuple[str, str]]) -> list[ReturnRow]:
    """The rows that can be read, as ``ReturnRow``; each one that cannot (its JSON edited by
    hand or cut short by a restore) goes in ``unreadable``: decision id → (order id, why), in
    words that never quote the row."""
    found = []
    for row in rows:
        try:
            found.append(ReturnRow.from_row(row))
        except stored.UNREADABLE as exc:
            unreadable[row.decision_id] = (row.order_id, stored.why(exc))
    return found


def get_return(conn: Connection, decision_id: str) -> ReturnRow | None:
    row = conn.execute(select(return_shipments).where(rs.decision_id == decision_id)).first()
    return ReturnRow.from_row(row) if row else None


@dataclass(frozen=True)
class Unreadable:
    """A return row that cannot be read: whose it is, where it stands (its plain columns), and
    why in words that never quote the row."""

    decision_id: str
    order_id: str
    why: str
    status: str
    label_status: str
    tracking_code: str | None
    what: str = "return (return_shipments)"  # the stored row that cannot be read

    @property
    def said(self) -> str:
        """What a list of returns shows in its place."""
        return f"its stored {self.what} cannot be read ({self.why}): a person must repair the row"


def read(row: Any) -> ReturnRow | Unreadable:
    """``row`` as a ``ReturnRow``, or why it cannot be read (the lists show the others)."""
    try:
        return ReturnRow.from_row(row)
    except stored.UNREADABLE as exc:
        return Unreadable(row.decision_id, row.order_id, stored.why(exc), row.status,
                          row.label_status, row.tracking_code)


def tracked(conn: Connection, code: str,
            shipment_id: str | None = None) -> ReturnRow | Unreadable | None:
    """The return whose parcel has tracking code ``code`` (and, when the tracker names one,
    whose label is shipment ``shipment_id``: the same code on another shipment is not ours),
    or why its row cannot be read (a carrier's update for it is then recorded and left for a
    person); None: no such return."""
    query = select(return_shipments).where(rs.tracking_code == code)
    if shipment_id is not None:
        query = query.where(rs.shipment_id.is_(None) | (rs.shipment_id == shipment_id))
    row = conn.execute(query).first()
    return None if row is None else read(row)
