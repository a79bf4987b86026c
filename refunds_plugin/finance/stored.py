"""A stored decision's facts and request read back for ``policy compare``, which only decides
on them: built from light twins of the domain's classes (``slots.light``) rather than the frozen
dataclasses, about a quarter of the cost.

Only the stored form as ``ledger.decisions`` writes it is read here, field by field as
``finance.simulation.facts_from_json`` and ``request_from_json`` read it (the same conversions,
so the same values); anything else (a key missing or added, a value that fails) raises
``Unusual`` or its own error, and the caller reads the row again the plain way, so its facts, or
its error, are the plain way's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.finance.rows import parse_when
from refunds_plugin.slots import light


class Unusual(Exception):
    """Not the stored form this module reads: read it the plain way."""


_Facts, _Line, _Customer, _Payment, _History, _Request, _Asked = (
    light(c) for c in (OrderFacts, OrderLine, Customer, PaymentFacts, CustomerHistory,
                       ReturnRequest, ReturnLine))


def _keys(cls: type[Any], *optional: str) -> tuple[frozenset[str], ...]:
    names = frozenset(cls.__dataclass_fields__)
    return (names, names - set(optional)) if optional else (names,)


_FACTS, = _keys(OrderFacts)
# stored before each was a fact (True then): without return_opened, and without both
_FACTS_OLD = _FACTS - {"return_opened"}
_FACTS_OLDER = _FACTS_OLD - {"can_label"}
_LINE, _LINE_BARE = _keys(OrderLine, "variants")  # written only when there are some
_CUSTOMER, = _keys(Customer)
_PAYMENT, = _keys(PaymentFacts)
_HISTORY, = _keys(CustomerHistory)
_REQUEST, = _keys(ReturnRequest)


def when(value: Any) -> datetime | None:
    """``parse_when`` for the stored form (ISO 8601 text with its offset), a step shorter; any
    other value takes ``parse_when``'s own way, so the answer and any error are its own."""
    if value.__class__ is str:
        try:
            at = _fromisoformat(value)
        except ValueError:
            return parse_when(value)
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return parse_when(value)


_fromisoformat = datetime.fromisoformat
_E = TypeVar("_E", bound=Enum)


def member(kind: type[_E], value: Any) -> _E:
    """``kind(value)`` for a stored value (a dictionary look-up rather than the enum's own
    call); anything else takes the call, so the answer and any error are its own."""
    try:
        return kind._value2member_map_[value]  # type: ignore[return-value]
    except (KeyError, TypeError):
        return kind(value)


def facts(d: dict[str, Any]) -> OrderFacts:
    """``facts_from_json(d)`` for the stored form, as a light twin (typed as what it stands
    for: the policy reads it as it reads ``OrderFacts``)."""
    keys = d.keys()
    if keys != _FACTS and keys != _FACTS_OLD and keys != _FACTS_OLDER:
        raise Unusual
    c, h = d["customer"], d["history"]
    if c.__class__ is not dict or c.keys() != _CUSTOMER or h.__class__ is not dict \
            or h.keys() != _HISTORY:
        raise Unusual
    payments, returned = d["payments"], d["returned_quantities"]
    return cast(OrderFacts, _Facts(
        str(d["order_id"]), d["currency"], tuple([_line(ln) for ln in d["lines"]]),
        int(d["shipping_amount"]), int(d["total_amount"]), _Customer(c["id"], c["email"]),
        when(d["paid_at"]), when(d["fulfilled_at"]), when(d["delivered_at"]),
        tuple([_payment(p) for p in payments]) if payments else (),
        tuple([(str(i), int(q)) for i, q in returned]) if returned else (),
        int(d["shipping_refunded"]),
        _History(h["total_paid"], h["order_count"], when(h["first_order_at"]),
                 h["total_refunded"], h["refunds_recent_count"], h["refunds_recent_amount"],
                 h["not_received_claims"], h["window_days"], h["total_credited"],
                 h["credits_recent_count"], h["credits_recent_amount"]),
        d["source"], d["channel"], int(d["refund_increment"]), d["can_charge"] is not False,
        d.get("can_label", True) is not False, d.get("return_opened", True) is not False))


def _line(ln: dict[str, Any]) -> Any:
    keys = ln.keys()
    if keys == _LINE_BARE:
        variants: tuple[Variant, ...] = ()
    elif keys == _LINE:
        got = ln["variants"]
        variants = tuple([Variant(**v) for v in got]) if got else ()
    else:
        raise Unusual
    return _Line(ln["id"], ln["sku"], ln["name"], ln["quantity"], ln["unit_amount"],
                 tuple(ln["tags"] or ()), tuple(ln["collections"] or ()), ln["product_id"],
                 ln["total_amount"], variants)


def _payment(p: dict[str, Any]) -> Any:
    if p.__class__ is not dict or p.keys() != _PAYMENT:
        raise Unusual
    return _Payment(p["provider"], p["reference"], p["captured"], p["refunded"], p["pending"],
                    p["disputed"], p["blocked"])


def request(d: dict[str, Any]) -> ReturnRequest:
    """``request_from_json(d)`` for the stored form, as a light twin."""
    if d.keys() != _REQUEST:
        raise Unusual
    prefer = d["preferred_resolution"]
    return cast(ReturnRequest, _Request(
        str(d["request_id"]), str(d["order_id"]),
        tuple([_Asked(str(rl["line_id"]), int(rl["quantity"]), member(Reason, rl["reason"]),
                      Variant(**rl["exchange_for"]) if rl.get("exchange_for") else None)
               for rl in d["lines"]]),
        member(ResolutionKind, prefer) if prefer else None, d["comment"] or "",
        when(d["requested_at"]), d["channel"] or "storefront"))
