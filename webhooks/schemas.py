"""Reading a signed webhook body: ``verified_json`` (signature, then JSON), the shared currency
check, and marshmallow schemas for the storefront's events; the core receives frozen
dataclasses."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from flask import current_app, request
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
)

from refunds_plugin.domain.facts import Customer, OrderLine, ReturnLine, ReturnRequest, Variant
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.domain.line_totals import TotalsError, spread
from refunds_plugin.errors import PayloadError
from refunds_plugin.intake.storefront import PaymentRecord
from refunds_plugin.ledger import text
from refunds_plugin.ledger.orders import OrderRecord
from refunds_plugin.money import CurrencyError, normalize_currency
from refunds_plugin.providers import PAYMENT_PROVIDERS
from webhooks import signatures

# bounds that keep every amount, quantity and their products inside a BIGINT column
# (2**63 ≈ 9.2e18): 10**13 minor units is 100 billion dollars; 10**5 units of one line
MAX_AMOUNT = 10**13
MAX_QUANTITY = 10**5
MAX_UNIX_SECONDS = 10**11
Amount = [validate.Range(min=0), validate.Range(max=MAX_AMOUNT)]
Quantity = [validate.Range(min=1), validate.Range(max=MAX_QUANTITY)]
MinorUnits = fields.Integer(strict=True, required=True, validate=Amount)


class Storable(validate.Validator):
    """Text the ledger can keep (``ledger.text``): no NUL, no control character in an id, and
    no longer than ``limit`` (its column's, from ``ledger.text``), on SQLite as on PostgreSQL."""

    def __init__(self, limit: int | None = None, *, is_id: bool = True) -> None:
        self.limit = limit
        self.is_id = is_id

    def __call__(self, value: str) -> str:
        said = text.problem(value, self.limit, is_id=self.is_id)
        if said is not None:
            raise ValidationError(said)
        return value


def Id(limit: int, *, required: bool = True) -> fields.String:  # noqa: N802
    """An id of at most ``limit`` characters (``ledger.text``'s, from its column): required and
    not empty, or optional (None, or any storable text, as such fields always took)."""
    if required:
        return fields.String(required=True, validate=[validate.Length(min=1), Storable(limit)])
    return fields.String(load_default=None, allow_none=True, validate=Storable(limit))


def Words(limit: int | None = None, **kwargs: Any) -> fields.String:  # noqa: N802
    """Text a person wrote (a name, a comment): any character but NUL, up to ``limit``."""
    checks = [*kwargs.pop("validate", []), Storable(limit, is_id=False)]
    return fields.String(validate=checks, **kwargs)


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"body is not valid JSON: {name} is not a number", code="malformed_json")


# a \uD800-\uDFFF escape: JSON lets one stand alone, but no database or encoder takes it
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


NOT_AN_OBJECT = "body must be a JSON object"


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object, or PayloadError: not UTF-8, not JSON, NaN/Infinity, an integer longer
    than Python reads (4300 digits), nested too deep for the parser, or a lone surrogate escape
    (text nothing downstream can store); ValidationError naming the field for a string holding
    a NUL (``\\u0000``), which PostgreSQL cannot store."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}", code="malformed_json") from None
    except ValueError:  # int("9" * 4301): the interpreter's limit on integer digits
        raise PayloadError("body is not valid JSON: a number has more digits than "
                           f"{sys.get_int_max_str_digits()}", code="malformed_json") from None
    except RecursionError:
        raise PayloadError("body is not valid JSON: nested too deep",
                           code="malformed_json") from None
    if not isinstance(data, dict):
        raise PayloadError(NOT_AN_OBJECT, code="malformed_json")
    if _SURROGATE_ESCAPE.search(body):  # rare: only then pay for the full check
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadError("body is not valid JSON: a string holds a lone surrogate "
                               "(\\ud800-\\udfff)", code="malformed_json") from None
        except RecursionError:
            raise PayloadError("body is not valid JSON: nested too deep",
                               code="malformed_json") from None
    if b"\\u0000" in body:  # rare: only then walk the body for the string that holds it
        refuse_nul(data)
    return data


def refuse_nul(data: dict[str, Any]) -> None:
    """ValidationError naming the first field whose text holds a NUL."""
    try:
        path = text.nul_at(data)
    except RecursionError:
        raise PayloadError("body is not valid JSON: nested too deep",
                           code="malformed_json") from None
    if path is not None:
        messages: Any = [text.problem(text.NUL)]
        for key in reversed(path):
            messages = {key: messages}
        raise ValidationError(messages, data=data)  # the caller may log the event's id


def json_body() -> Any:
    """An API request's JSON body, read with ``parse_json``'s checks (malformed_json for JSON
    it cannot read, a 4301-digit integer included; a 400 naming the field for a NUL): any JSON
    value, the view says what it wanted; None for an empty body."""
    raw = request.get_data()
    if not raw.strip():
        return None
    try:
        return parse_json(raw)
    except PayloadError as exc:
        if exc.message == NOT_AN_OBJECT:
            return json.loads(raw)  # a list or a number: the view says what it wanted
        raise


def verified_json(header: str, secrets: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The request's raw body (as text, for the inbox) and its JSON object, once the ``header``
    signature matches it with one of ``secrets``; raises SignatureError or PayloadError."""
    state = current_app.extensions["refunds"]
    body = request.get_data(cache=False)
    signatures.verify(
        body,
        request.headers.get(header),
        secrets,
        tolerance=state.config.signature_tolerance_s,
        clock=state.wall_clock,
        header_name=header,
    )
    data = parse_json(body)
    return body.decode("utf-8"), data


class CurrencyChecked:
    """Mixed into a schema with a ``currency`` field: it must be a currency ``money`` knows.

    A schema-level ``@validates`` rather than a field validator, so that in a body with several
    problems the currency's message still comes after the field-by-field ones, as it always has.
    """

    @validates("currency")
    def _currency(self, value: str, **_: Any) -> None:
        try:
            normalize_currency(value)
        except CurrencyError as exc:
            raise ValidationError(str(exc)) from None


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE  # storefronts add fields; we read only what we know


class CustomerSchema(Strict):
    id = Id(text.CUSTOMER_ID, required=False)
    email = fields.Email(load_default=None, allow_none=True,
                         validate=Storable(text.EMAIL))


class VariantSchema(Strict):
    """An item the storefront sells: on ``order.paid`` lines (``variants``) and as a return
    line's ``exchange_for``."""

    sku = Id(text.SKU)
    name = Words(500, required=True, validate=[validate.Length(min=1)])
    unit_amount = MinorUnits
    in_stock = fields.Boolean(load_default=None, allow_none=True)
    variant_id = Id(text.PRODUCT_ID, required=False)

    @post_load
    def _make(self, d: dict[str, Any], **_: Any) -> Variant:
        return Variant(d["sku"], d["name"], d["unit_amount"], d["in_stock"], d["variant_id"])


class LineSchema(Strict):
    id = Id(text.LINE_ID)
    sku = fields.String(load_default="", validate=Storable(text.SKU))
    name = Words(load_default="")  # the line index keeps its first 255 characters
    quantity = fields.Integer(strict=True, required=True, validate=Quantity)
    unit_amount = MinorUnits
    # what the whole line was charged (its discounts and tax as paid); absent: a share of the
    # order's total_amount (``domain.line_totals.spread``)
    total_amount = fields.Integer(strict=True, load_default=None, allow_none=True,
                                  validate=Amount)
    # the line index keeps a label's first 255 characters
    tags = fields.List(Words(), load_default=list)
    collections = fields.List(Words(), load_default=list)
    product_id = Id(text.PRODUCT_ID, required=False)
    weight_grams = fields.Integer(strict=True, load_default=None, allow_none=True,
                                  validate=validate.Range(min=1))
    variants = fields.List(fields.Nested(VariantSchema), load_default=list,
                           validate=validate.Length(max=200))


class AddressSchema(Strict):
    """A shipping address: the same fields as ``[[return_addresses]]`` (``region``, the state
    or province, optional)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    street = fields.String(required=True, validate=validate.Length(min=1, max=255))
    city = fields.String(required=True, validate=validate.Length(min=1, max=255))
    postal_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    region = fields.String(validate=validate.Length(max=64))
    country = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z]{2}$", error="expected a two-letter country code such as DE"))


class PaymentSchema(Strict):
    provider = Id(text.PROVIDER)
    reference = Id(text.PAYMENT_REFERENCE)
    amount = fields.Integer(strict=True, load_default=None, validate=Amount)


# a customer's language, a BCP 47 tag ("de", "fr-CH"): well formed, or a 400; one we do not ship
# falls through to the next choice (``language.pick``), never a reason to refuse the event
Locale = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
    r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,6}\Z",  # \Z: no newline after it
    error="expected a BCP 47 language tag such as de or fr-CH"))


class OrderSchema(CurrencyChecked, Strict):
    id = Id(text.ORDER_ID)
    currency = fields.String(required=True)
    paid_at = fields.AwareDateTime(required=True)
    fulfilled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    delivered_at = fields.AwareDateTime(load_default=None, allow_none=True)
    customer = fields.Nested(CustomerSchema, load_default=dict)
    lines = fields.List(
        fields.Nested(LineSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    shipping_amount = MinorUnits
    total_amount = MinorUnits
    payment = fields.Nested(PaymentSchema, load_default=None, allow_none=True)
    channel = Id(text.CHANNEL, required=False)
    shipping_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    # the customer's language, a BCP 47 tag ("de", "fr-CH"); one we do not ship falls back to
    # the browser's and then the shop's language (never a reason to refuse the order)
    locale = Locale

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> tuple[OrderRecord, PaymentRecord | None]:
        ids = [ln["id"] for ln in data["lines"]]
        if len(set(ids)) != len(ids):
            raise ValidationError({"lines": ["line ids must be unique"]})
        cust = data["customer"] or {}
        lines = tuple(
            OrderLine(
                id=ln["id"],
                sku=ln["sku"],
                name=ln["name"],
                quantity=ln["quantity"],
                unit_amount=ln["unit_amount"],
                tags=tuple(ln["tags"]),
                collections=tuple(ln["collections"]),
                product_id=ln["product_id"],
                total_amount=ln["total_amount"],
                variants=tuple(ln["variants"]),
            )
            for ln in data["lines"]
        )
        try:  # a discount code or tax on top: each line's share of the order's total
            lines = spread(lines, data["shipping_amount"], data["total_amount"])
        except TotalsError as exc:
            raise PayloadError(str(exc), code=exc.code) from None
        order = OrderRecord(
            order_id=data["id"],
            source="storefront",
            currency=normalize_currency(data["currency"]),
            lines=lines,
            shipping_amount=data["shipping_amount"],
            total_amount=data["total_amount"],
            customer=Customer(id=cust.get("id"), email=cust.get("email")),
            paid_at=data["paid_at"],
            fulfilled_at=data["fulfilled_at"],
            delivered_at=data["delivered_at"],
            channel=data["channel"],
            extra=_shipping_extra(data),
            locale=data["locale"],
        )
        pay = data["payment"]
        payment = None
        if pay is not None:
            if pay["provider"] not in PAYMENT_PROVIDERS:  # money to it could never be sent
                raise PayloadError(
                    f"payment.provider {pay['provider']!r} is not a payment provider this "
                    f"service can refund through: use one of {', '.join(PAYMENT_PROVIDERS)}",
                    code="unsupported_payment_provider")
            amount = pay["amount"] if pay["amount"] is not None else data["total_amount"]
            payment = PaymentRecord(pay["provider"], pay["reference"], amount)
        return order, payment


def _shipping_extra(data: dict[str, Any]) -> dict[str, Any] | None:
    """What a return label needs from the order: the customer's address, the lines' weights."""
    extra: dict[str, Any] = {}
    if data["shipping_address"]:
        extra["shipping_address"] = {**data["shipping_address"],
                                     "country": data["shipping_address"]["country"].upper()}
    weights = {ln["id"]: ln["weight_grams"] for ln in data["lines"] if ln["weight_grams"]}
    if weights:
        extra["line_weights"] = weights
    return extra or None


class ReturnLineSchema(Strict):
    line_id = Id(text.LINE_ID)
    quantity = fields.Integer(strict=True, required=True, validate=Quantity)
    reason = fields.Enum(Reason, by_value=True, required=True)
    exchange_for = fields.Nested(VariantSchema, load_default=None, allow_none=True)


class ReturnSchema(Strict):
    id = Id(text.RETURN_ID)
    order_id = Id(text.ORDER_ID)
    lines = fields.List(
        fields.Nested(ReturnLineSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    preferred_resolution = fields.Enum(
        ResolutionKind, by_value=True, load_default=None, allow_none=True
    )
    comment = Words(5000, load_default="")
    requested_at = fields.AwareDateTime(load_default=None, allow_none=True)
    # the language the customer asked in, when the storefront knows it: the return's emails,
    # status page and answer are in it (before the order's ``locale``)
    locale = Locale

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> tuple[ReturnRequest, str | None]:
        return ReturnRequest(
            request_id=data["id"],
            order_id=data["order_id"],
            lines=tuple(
                ReturnLine(ln["line_id"], ln["quantity"], ln["reason"], ln["exchange_for"])
                for ln in data["lines"]
            ),
            preferred_resolution=data["preferred_resolution"],
            comment=data["comment"],
            requested_at=data["requested_at"],
            channel="storefront",
        ), data["locale"]


class OrderDataSchema(Strict):
    order = fields.Nested(OrderSchema, required=True)


class ReturnDataSchema(Strict):
    return_ = fields.Nested(ReturnSchema, required=True, data_key="return")


class SoldOutSchema(Strict):
    """``exchange.out_of_stock``: the exchange (its decision id) whose new items the storefront
    cannot ship, and which (none named: all of them)."""

    decision_id = Id(text.DECISION_ID)
    skus = fields.List(Id(text.SKU),
                       load_default=list, validate=validate.Length(max=500))


class SoldOutDataSchema(Strict):
    exchange = fields.Nested(SoldOutSchema, required=True)


class EnvelopeSchema(Strict):
    id = Id(text.EVENT_ID)
    type = fields.String(required=True)
    created = fields.Integer(strict=True, load_default=None,
                             validate=[validate.Range(min=0), validate.Range(max=MAX_UNIX_SECONDS)])
    data = fields.Dict(required=True)
