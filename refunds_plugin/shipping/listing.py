"""Returns as people read them (read model): the packing table's search, the receiving API's
list, ``refunds returns list`` and the ledger's ``return_instructions``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select

from policies import Policy
from refunds_plugin.ledger.tables import decisions, orders, return_shipments
from refunds_plugin.notify import stored
from refunds_plugin.shipping import receiving, returns
from refunds_plugin.shipping.rows import ReturnRow, Unreadable, read

# why an empty list is empty when no ``[[return_addresses]]`` are configured: no decision opens
# a return, so no approved return waits for a parcel (the items are kept, or sent back by hand)
NO_ADDRESS = ("No return address is configured, so no return is waiting for a parcel: see "
              "docs/returns-shipping.md")
# said by ``refunds serve`` and ``refunds policy check``: what a customer is told without one
ADDRESS_WARNING = (
    "warning: no [[return_addresses]] are configured (REFUNDS_CONFIG_FILE), so a customer asked "
    "to send items back is told \"The shop will tell you where to send it.\" and gets no "
    "address, deadline or label from us; no return waits for its parcel, no money waits for "
    "it, and an exchange's new item is ready to ship at approval (whatever exchange.ship_on "
    "says), and the customer is told so: see docs/returns-shipping.md")


# said by ``refunds serve`` and ``refunds policy check`` when the policy asks for labels that
# cannot be bought: the customer posts the parcel themselves and pays no label fee
LABEL_WARNING = (
    "warning: the policy asks for prepaid return labels (return_shipping.label: easypost) but "
    "REFUNDS_EASYPOST_API_KEY is not set, so no label can be bought: a customer asked to send "
    "items back gets the return instructions only and posts the parcel themselves, no label is "
    "promised and no label fee is deducted: see docs/returns-shipping.md")


# said by ``refunds serve`` and ``refunds policy check`` when the EasyPost key's mode (its
# prefix: EZTK… test, EZAK… production) is not the service's: never the key itself
TEST_KEY_WARNING = (
    "warning: REFUNDS_EASYPOST_API_KEY is an EasyPost test key (EZTK…) but money moves ({mode}), "
    "so every return label bought is a test label no carrier accepts: customers would be sent "
    "labels they cannot use; set a production key (EZAK…): see docs/returns-shipping.md")
LIVE_KEY_WARNING = (
    "warning: REFUNDS_EASYPOST_API_KEY is an EasyPost production key (EZAK…) but no money moves "
    "(test mode), so every return label bought is real and charged to the EasyPost account "
    "while the refunds are not; use a test key (EZTK…) to try the service: see "
    "docs/returns-shipping.md")


def key_warning(api_key: str, config_modes: dict[str, str]) -> str | None:
    """``TEST_KEY_WARNING`` for a test key while a provider is live, ``LIVE_KEY_WARNING`` for a
    production key while none is (``routing.money_modes``); None otherwise, or for a key of
    neither prefix."""
    live = [name for name, mode in config_modes.items() if mode == "live"]
    if api_key.startswith("EZTK") and live:
        return TEST_KEY_WARNING.format(mode=", ".join(f"{name} live" for name in live))
    if api_key.startswith("EZAK") and not live:
        return LIVE_KEY_WARNING
    return None


# said by ``refunds serve`` and ``refunds policy check`` when money waits for a carrier scan
# that cannot come (no label is bought): it waits for the parcel to reach the shop instead
SCAN_WARNING = (
    "warning: the policy sends money at the carrier's first scan (refund_on: first_scan) but no "
    "prepaid label is bought ({why}), so no carrier scan can reach us: that money waits for the "
    "parcel to reach the shop instead, as with refund_on: delivered, and is sent when the "
    "warehouse records it (/finance/receive or `refunds returns receive`), and the customer is "
    "told so: see docs/returns-shipping.md")


# its sibling for exchanges: the new item waits for the parcel to reach the shop instead
SHIP_SCAN_WARNING = (
    "warning: the policy ships an exchange's new item at the carrier's first scan ({which}) but "
    "no prepaid label is bought ({why}), so no carrier scan can reach us: the new item ships "
    "when the parcel reaches the shop instead, as with ship_on: delivered, once the warehouse "
    "records it (/finance/receive or `refunds returns receive`), and the customer is told so: "
    "see docs/returns-shipping.md")


def _no_label(policy: Policy) -> str:
    """Why no label is bought, in the words of the setting to change."""
    return ("return_shipping.label: none" if policy.return_shipping.label == "none"
            else "REFUNDS_EASYPOST_API_KEY is not set")


def scan_warning(policy: Policy, can_label: bool, has_addresses: bool) -> str | None:
    """``SCAN_WARNING`` when money waits for ``first_scan`` and no label will be bought
    (``Policy.labels_scanned``); nothing without a return address (no money waits then)."""
    if not has_addresses or not policy.waits_for_a_scan or policy.labels_scanned(can_label):
        return None
    return SCAN_WARNING.format(why=_no_label(policy))


def ship_scan_warning(policy: Policy, can_label: bool, has_addresses: bool) -> str | None:
    """``SHIP_SCAN_WARNING`` when an exchange's new item waits for ``first_scan``
    (``Policy.ships_on_a_scan``) and no label will be bought; nothing without a return address
    (no return is opened to receive then: ``ADDRESS_WARNING`` says so)."""
    if not has_addresses or not policy.ships_on_a_scan or policy.labels_scanned(can_label):
        return None
    which = ("exchange.ship_on: first_scan" if policy.exchange.ship_on.value == "first_scan"
             else "exchange.ship_on: approval with instant_for_tiers, for the other tiers")
    return SHIP_SCAN_WARNING.format(which=which, why=_no_label(policy))


# said by ``refunds serve`` and ``refunds policy check`` when labels are bought but their
# tracking events would all be refused: no parcel is ever seen moving
TRACKING_WARNING = (
    "warning: return labels are bought (REFUNDS_EASYPOST_API_KEY) but "
    "REFUNDS_EASYPOST_WEBHOOK_SECRET is not set, so every EasyPost tracking event to POST "
    "/webhooks/easypost is refused (400 not_configured): no parcel is seen in transit or "
    "delivered{held}; set it to the secret of your EasyPost webhook: see "
    "docs/returns-shipping.md")


def tracking_warning(policy: Policy, can_label: bool, webhook_secret: str) -> str | None:
    """``TRACKING_WARNING`` when labels are bought (``Policy.labels_scanned``) and no
    ``REFUNDS_EASYPOST_WEBHOOK_SECRET`` lets their tracking in; saying so when money or an
    exchange waits for the carrier (it then waits for the warehouse's receipt)."""
    if webhook_secret or not policy.labels_scanned(can_label):
        return None
    carrier = ("first_scan", "delivered")
    waits = any(on.value in carrier for _, on in policy.refund_on) or (
        policy.exchange.allowed and policy.exchange.ship_on.value in carrier)
    held = (", and money or an exchange the policy holds for the carrier (first_scan, "
            "delivered) waits for the warehouse's receipt instead") if waits else ""
    return TRACKING_WARNING.format(held=held)


def address_warning(has_addresses: bool) -> str | None:
    return None if has_addresses else ADDRESS_WARNING


def label_warning(policy_label: str, carrier: str) -> str | None:
    """``LABEL_WARNING`` when the policy's ``return_shipping.label`` wants a label platform and
    ``carrier`` (``Config.carrier``) is none (``manual``)."""
    return LABEL_WARNING if policy_label != "none" and carrier == "manual" else None


def _lines(body: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    names = {ln["id"]: ln.get("name") or ln.get("sku") or ln["id"]
             for ln in facts.get("lines", ())}
    return [{"line_id": ln["line_id"], "name": names.get(ln["line_id"], ln["line_id"]),
             "quantity": ln["quantity"], "reason": ln["reason"]}
            for ln in body.get("lines", ()) if ln.get("return_required", True)]


def _object(raw: str | None) -> dict[str, Any]:
    """A decision's stored JSON object; empty when it cannot be read (edited by hand, cut
    short): the return is still listed, with its label status and no lines (the shipping desk
    names the row for a person)."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _readable_lines(body: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return _lines(body, facts)
    except stored.UNREADABLE:
        return []


def describe(conn: Connection,
             rets: Iterable[returns.ReturnRow | Unreadable]) -> list[dict[str, Any]]:
    """Each return with its lines (names from the order's facts) and what was received; one
    whose row cannot be read is listed in its place with why (``unreadable``), never failing
    the list."""
    rets = list(rets)
    ids = [r.decision_id for r in rets]
    found = {row.id: row for row in conn.execute(
        select(decisions.c.id, decisions.c.body, decisions.c.facts, decisions.c.currency)
        .where(decisions.c.id.in_(ids)))} if ids else {}
    out = []
    for ret in rets:
        row = found.get(ret.decision_id)
        body, facts = (_object(row.body), _object(row.facts)) if row else ({}, {})
        if isinstance(ret, ReturnRow) and row is not None:
            ret = _decided(ret, row.body)
        if isinstance(ret, Unreadable):
            out.append(_unreadable(ret, facts.get("order_number")))
            continue
        out.append({
            "decision_id": ret.decision_id, "order_id": ret.order_id,
            "order_number": facts.get("order_number"), "status": ret.status,
            "label_status": ret.label_status, "carrier": ret.carrier,
            "tracking_code": ret.tracking_code,
            "label_cost": ret.label_amount, "label_currency": ret.label_currency,
            "label_fee": ret.label_fee, "currency": row.currency if row else None,
            "return_by": ret.return_by.isoformat(timespec="seconds"),
            "expires_at": ret.expires_at.isoformat(timespec="seconds"),
            "refund_on": ret.refund_on, "lines": _readable_lines(body, facts),
            "received": receiving.stored_json(conn, ret.decision_id),
            "return_instructions": ret.instructions(), "unreadable": None,
        })
    return out


def _decided(ret: ReturnRow, body: str) -> ReturnRow | Unreadable:
    """``ret``, or why its decision's stored body cannot be read: its lines are unknown, so it
    cannot be received (the lists say why)."""
    try:
        stored.decision(body)
    except stored.UNREADABLE as exc:
        return Unreadable(ret.decision_id, ret.order_id, stored.why(exc), ret.status,
                          ret.label_status, ret.tracking_code, "decision (decisions.body)")
    return ret


def _unreadable(ret: Unreadable, order_number: Any) -> dict[str, Any]:
    """A return whose row cannot be read, as the lists show it: its plain columns and why;
    nothing read from the row's JSON (no lines, so nothing can be received against it)."""
    return {
        "decision_id": ret.decision_id, "order_id": ret.order_id, "order_number": order_number,
        "status": ret.status, "label_status": ret.label_status, "carrier": None,
        "tracking_code": ret.tracking_code, "label_cost": None, "label_currency": None,
        "label_fee": None, "currency": None, "return_by": None, "expires_at": None,
        "refund_on": None, "lines": [], "received": [], "return_instructions": None,
        "unreadable": ret.said,
    }


def find(engine: Engine, query: str) -> list[dict[str, Any]]:
    """By order id, order number or tracking code."""
    with engine.connect() as conn:
        return describe(conn, _by_order(conn, query))


def listed(engine: Engine, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return describe(conn, _listed(conn, status, limit))


def one(engine: Engine, decision_id: str) -> dict[str, Any] | None:
    """The return of ``decision_id`` as the lists show it (``unreadable`` says why, when its
    row cannot be read); None: it has none."""
    with engine.connect() as conn:
        row = conn.execute(select(return_shipments).where(rs.decision_id == decision_id)).first()
        return describe(conn, [read(row)])[0] if row is not None else None


def instructions_by_decision(conn: Connection, decision_ids: list[str]) -> dict[str, Any]:
    """``return_instructions`` of each decision that has a return (``ledger list --json``);
    of one whose row cannot be read, only why (``unreadable``)."""
    if not decision_ids:
        return {}
    rows = conn.execute(select(return_shipments).where(rs.decision_id.in_(decision_ids)))
    return {ret.decision_id: ret.instructions() if isinstance(ret, returns.ReturnRow)
            else {"unreadable": ret.said} for ret in map(read, rows)}


rs = return_shipments.c
STATUSES = ("instructions", "label_pending", "label_created", "in_transit", "out_for_delivery",
            "available_for_pickup", "delivered", "failure", "return_to_sender", "received",
            "expired", "reopened")


def _listed(conn: Connection, status: str | None = None,
            limit: int = 200) -> list[returns.ReturnRow | Unreadable]:
    """Returns, newest first (``refunds returns list``, the receiving page)."""
    query = select(return_shipments).order_by(rs.created_at.desc(), rs.decision_id).limit(limit)
    if status:
        query = query.where(rs.status == status)
    return [read(r) for r in conn.execute(query)]


def _by_order(conn: Connection, order_or_code: str) -> list[returns.ReturnRow | Unreadable]:
    """Find returns by order id, order number or tracking code (the packing table's search)."""
    text = order_or_code.strip()
    ids = select(orders.c.order_id).where(orders.c.order_number == text)
    rows = conn.execute(select(return_shipments).where(
        (rs.order_id == text) | (rs.tracking_code == text) | rs.order_id.in_(ids))
        .order_by(rs.created_at.desc()))
    return [read(r) for r in rows]
