"""The marshmallow schema of a policy file: validates the YAML mapping and builds a ``Policy``.

Money is written as quoted decimal strings in the file's ``currency`` (``"25.00"``) or as a
mapping of currency to decimal string (``{USD: "25.00", EUR: "23.00"}``). YAML numbers are refused
for money so no amount ever passes through a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from policies import policy as p
from policies.fields import (
    ACTIONS,
    COUNT,
    KINDS,
    POSITIVE,
    AmountField,
    DaysField,
    PercentField,
    TextsField,
    choice,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind


class OverrideSchema(Schema):
    sku = fields.String()
    tag = fields.String()
    collection = fields.String()
    days = DaysField(required=True)

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> p.WindowOverride:
        keys = [k for k in ("sku", "tag", "collection") if k in data]
        if len(keys) != 1:
            raise ValidationError("expected exactly one of sku, tag or collection, found "
                                  f"{' and '.join(keys) or 'none'}", "_schema")
        return p.WindowOverride(keys[0], data[keys[0]], data["days"])


class WindowSchema(Schema):
    days = DaysField(required=True)
    start = choice([a.value for a in p.Anchor])
    outside = choice(["decline", "review", "credit"])
    overrides = fields.List(fields.Nested(OverrideSchema), load_default=list)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.WindowRules:
        return p.WindowRules(d["days"], p.Anchor(d.get("start", "delivery")),
                             p.Action(d.get("outside", "decline")), tuple(d["overrides"]))


class FinalSaleSchema(Schema):
    tags = fields.List(fields.String(), load_default=list)
    guarantee = choice(["decline", "review", "credit"])

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.FinalSaleRules:
        return p.FinalSaleRules(tuple(d["tags"]), p.Action(d.get("guarantee", "decline")))


class ReasonsSchema(Schema):
    changed_mind = choice(ACTIONS)
    too_small = choice(ACTIONS)
    too_large = choice(ACTIONS)
    other = choice(ACTIONS)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> tuple[tuple[Reason, p.Action], ...]:
        return tuple((r, p.Action(d.get(r.value, "accept"))) for r in p.CUSTOMER_REASONS)


class LimitsSchema(Schema):
    auto_approve_per_request = AmountField(allow_none=True, load_default=None)
    auto_approve_per_order = AmountField(allow_none=True, load_default=None)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.Limits:
        return p.Limits(d["auto_approve_per_request"], d["auto_approve_per_order"])


class TierSchema(Schema):
    name = fields.String(required=True)
    min_projected_value = AmountField(allow_none=True, load_default=None)
    min_orders = fields.Integer(load_default=0, strict=True, validate=COUNT)
    min_months = fields.Integer(load_default=0, strict=True, validate=COUNT)
    extra_window_days = DaysField(load_default=0)
    limits = fields.Nested(LimitsSchema, load_default=p.Limits)
    waive_fees = fields.Boolean(load_default=False)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.Tier:
        return p.Tier(**d)


class AbuseSchema(Schema):
    window_days = fields.Integer(load_default=90, strict=True, validate=POSITIVE)
    max_refunds = fields.Integer(allow_none=True, load_default=None, strict=True, validate=COUNT)
    max_refund_amount = AmountField(allow_none=True, load_default=None)
    max_refund_ratio_percent = PercentField(allow_none=True, load_default=None)
    max_not_received_claims = fields.Integer(allow_none=True, load_default=None, strict=True,
                                             validate=COUNT)
    orders_per_extra_refund = fields.Integer(allow_none=True, load_default=None, strict=True,
                                             validate=validate.Range(min=1))
    recent_signals_need_ratio_percent = PercentField(allow_none=True, load_default=None)
    count_store_credit = fields.Boolean(load_default=False)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.AbuseRules:
        return p.AbuseRules(enabled=True, **d)


class KeepItemSchema(Schema):
    below = AmountField(allow_none=True, load_default=None)
    return_label_cost = AmountField(allow_none=True, load_default=None)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.KeepItemRules:
        return p.KeepItemRules(**d)


EXCHANGE = "exchange"  # a resolution beside the kinds: chosen per line with ``exchange_for``
_ALLOWED = [*KINDS, EXCHANGE]


class ResolutionSchema(Schema):
    default = choice(KINDS)
    allow = fields.List(choice(_ALLOWED), validate=validate.Length(
        min=1, error=f"expected at least one of {', '.join(_ALLOWED)}, found an empty list"))
    refund_within_days = fields.Integer(allow_none=True, load_default=None, strict=True,
                                        validate=COUNT)
    credit_bonus_percent = PercentField(load_default=Decimal(0))
    credit_bonus_max = AmountField(allow_none=True, load_default=None)
    keep_item = fields.Nested(KeepItemSchema, load_default=p.KeepItemRules)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.ResolutionRules:
        default = ResolutionKind(d.get("default", "refund"))
        listed = d.get("allow", [k for k in KINDS])
        allow = tuple(ResolutionKind(k) for k in dict.fromkeys(listed) if k != EXCHANGE)
        if not allow:
            raise ValidationError("expected refund or credit beside exchange, found only "
                                  "exchange: an exchange that cannot be made needs a refund "
                                  "or store credit to offer instead", "allow")
        if default not in allow:
            raise ValidationError(f"expected one of `allow` ({', '.join(k.value for k in allow)})"
                                  f", found {default.value!r}", "default")
        if d["refund_within_days"] is not None and ResolutionKind.REFUND not in allow:
            raise ValidationError("expected refund in resolution.allow for a refund period (it "
                                  "says when refunds end), found allow: "
                                  f"{', '.join(k.value for k in allow)}", "refund_within_days")
        return p.ResolutionRules(default, allow, d["refund_within_days"],
                                 d["credit_bonus_percent"], d["credit_bonus_max"], d["keep_item"])


class HigherSchema(Schema):
    waive_up_to = AmountField(required=True)


class HigherField(fields.Field):
    """``charge``, or ``{waive_up_to: {USD: "10.00"}}`` (waived up to that, the rest charged);
    returns the waiver's table, or None for ``charge``."""

    schema = HigherSchema()  # what a mistake inside the mapping is named against

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == "charge":
            return None
        if isinstance(value, dict):
            return self.schema.load(value)["waive_up_to"]
        raise ValidationError(f'expected "charge" or a mapping like {{waive_up_to: {{USD: '
                              f'"10.00"}}}}, found {value!r}')


class PriceDifferenceSchema(Schema):
    lower = choice(KINDS)
    higher = HigherField(load_default=None)


class ExchangeSchema(Schema):
    scope = choice([s.value for s in p.Scope])
    price_difference = fields.Nested(PriceDifferenceSchema, load_default=dict)
    fees = choice(["waive", "apply"])
    ship_on = choice([s.value for s in p.ShipOn])
    instant_for_tiers = fields.List(fields.String(validate=validate.Length(min=1)),
                                    load_default=list)
    reasons = fields.List(choice([r.value for r in Reason]), load_default=list)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.ExchangeRules:
        ship_on = p.ShipOn(d.get("ship_on", "first_scan"))
        if d["instant_for_tiers"] and ship_on is not p.ShipOn.APPROVAL:
            raise ValidationError(f"expected `ship_on: approval` with instant_for_tiers (instant "
                                  f"exchanges are what it limits), found ship_on "
                                  f"{ship_on.value!r}", "instant_for_tiers")
        diff = d["price_difference"]
        return p.ExchangeRules(
            allowed=True, scope=p.Scope(d.get("scope", "same_product")),
            lower=ResolutionKind(diff.get("lower", "refund")), waive_up_to=diff.get("higher"),
            fees_apply=d.get("fees", "waive") == "apply", ship_on=ship_on,
            instant_for_tiers=tuple(dict.fromkeys(d["instant_for_tiers"])),
            reasons=tuple(Reason(r) for r in dict.fromkeys(d["reasons"])))


class FeesSchema(Schema):
    restocking_percent = PercentField(load_default=Decimal(0))
    return_shipping = AmountField(allow_none=True, load_default=None)
    waive_for_reasons = fields.List(choice([r.value for r in p.CUSTOMER_REASONS]),
                                    load_default=list)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.FeeRules:
        return p.FeeRules(d["restocking_percent"], d["return_shipping"],
                          tuple(Reason(r) for r in d["waive_for_reasons"]))


class ShippingSchema(Schema):
    refund_with_last_item = fields.Boolean(load_default=True)
    refund_on_merchant_fault = fields.Boolean(load_default=True)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.ShippingRules:
        return p.ShippingRules(**d)


_REFUND_ON = [o.value for o in p.RefundOn]


class ReturnShippingSchema(Schema):
    label = choice(["none", "easypost"])
    paid_by = choice(["merchant", "customer"])
    fee = AmountField(allow_none=True, load_default=None)
    free_for = fields.List(fields.String(), load_default=lambda: ["merchant_fault"])
    return_by_days = fields.Integer(load_default=30, strict=True, validate=POSITIVE)
    grace_days = fields.Integer(load_default=7, strict=True, validate=COUNT)
    remind_days_before = fields.Integer(load_default=5, strict=True, validate=COUNT)
    packing_notes = TextsField(2000, load_default=tuple)
    carriers = fields.List(fields.String(), load_default=list)
    services = fields.List(fields.String(), load_default=list)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.ReturnShippingRules:
        paid_by = d.get("paid_by", "merchant")
        if paid_by == "customer" and d["fee"] is None:
            raise ValidationError('expected the fee the customer pays for the label (such as '
                                  'fee: "5.00"), found none', "fee")
        return p.ReturnShippingRules(
            label=d.get("label", "none"), paid_by=paid_by, fee=d["fee"],
            free_for=tuple(d["free_for"]), return_by_days=d["return_by_days"],
            grace_days=d["grace_days"], remind_days_before=d["remind_days_before"],
            packing_notes=d["packing_notes"],
            carriers=tuple(d["carriers"]), services=tuple(d["services"]))


class RefundOnField(fields.Field):
    """``refund_on: first_scan``, or per kind: ``{refund: first_scan, credit: approval}``."""

    def _deserialize(self, value: Any, attr: Any, data: Any,
                     **kwargs: Any) -> tuple[tuple[ResolutionKind, p.RefundOn], ...]:
        said = f"expected one of {', '.join(_REFUND_ON)}"
        if isinstance(value, str):
            if value not in _REFUND_ON:
                raise ValidationError(f"{said}, found {value!r}")
            return tuple((k, p.RefundOn(value)) for k in ResolutionKind)
        if isinstance(value, dict) and value:
            out = dict.fromkeys(ResolutionKind, p.RefundOn.APPROVAL)
            for key, on in value.items():
                if key not in KINDS:
                    raise ValidationError(f"expected the kinds {', '.join(KINDS)} as keys, "
                                          f"found {key!r}")
                if on not in _REFUND_ON:
                    raise ValidationError(f"{key}: {said}, found {on!r}")
                out[ResolutionKind(key)] = p.RefundOn(on)
            return tuple(out.items())
        raise ValidationError(f"{said}, or a mapping like {{refund: first_scan, credit: "
                              f"approval}}, found {value!r}")


class DetectorSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    resolution = choice(KINDS)
    auto_approve_up_to = AmountField(allow_none=True, load_default=None)
    window_hours = fields.Integer(load_default=72, strict=True, validate=POSITIVE)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.Detector:
        return p.Detector(d["enabled"], ResolutionKind(d.get("resolution", "refund")),
                          d["auto_approve_up_to"], d["window_hours"])


class FailedPaymentSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    follow_up_after_hours = fields.Integer(load_default=24, strict=True,
                                           validate=POSITIVE)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.FailedPaymentDetector:
        return p.FailedPaymentDetector(**d)


class TroubleSchema(Schema):
    overpayment = fields.Nested(DetectorSchema, load_default=p.Detector)
    duplicate_charge = fields.Nested(DetectorSchema, load_default=p.Detector)
    failed_payment = fields.Nested(FailedPaymentSchema, load_default=p.FailedPaymentDetector)
    auto_correct_order_updates = fields.Boolean(load_default=False)

    @post_load
    def build(self, d: dict[str, Any], **_: Any) -> p.TroubleRules:
        return p.TroubleRules(**d)


class PolicySchema(Schema):
    """The whole file. ``name`` and ``content_hash`` are added by the loader."""

    name = fields.String(load_default=None)
    title = fields.String(load_default="")
    currency = fields.String(load_default=None)
    promise_hours = fields.Integer(load_default=48, strict=True, validate=POSITIVE)
    window = fields.Nested(WindowSchema, required=True)
    final_sale = fields.Nested(FinalSaleSchema, load_default=p.FinalSaleRules)
    reasons = fields.Nested(ReasonsSchema, load_default=lambda: ReasonsSchema().load({}))
    limits = fields.Nested(LimitsSchema, load_default=p.Limits)
    expected_years = fields.Integer(load_default=3, strict=True, validate=POSITIVE)
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    abuse = fields.Nested(AbuseSchema, allow_none=True, load_default=None)
    resolution = fields.Nested(ResolutionSchema, load_default=p.ResolutionRules)
    fees = fields.Nested(FeesSchema, load_default=p.FeeRules)
    shipping = fields.Nested(ShippingSchema, load_default=p.ShippingRules)
    trouble = fields.Nested(TroubleSchema, load_default=p.TroubleRules)
    return_shipping = fields.Nested(ReturnShippingSchema, load_default=p.ReturnShippingRules)
    refund_on = RefundOnField(load_default=lambda: p.Policy("", "").refund_on)

    @validates_schema
    def _free_for(self, data: dict[str, Any], **_: Any) -> None:
        """``return_shipping.free_for`` names only what exists: merchant_fault, a customer
        reason, or one of the file's tiers."""
        rs = data.get("return_shipping")
        if rs is None:
            return
        known = ["merchant_fault", *(r.value for r in p.CUSTOMER_REASONS),
                 *(t.name for t in data.get("tiers") or ())]
        for i, name in enumerate(rs.free_for):
            if name not in known:
                raise ValidationError(
                    {"return_shipping": {"free_for": {i: [
                        f"expected one of {', '.join(known)}, found {name!r}"]}}})
    exchange = fields.Nested(ExchangeSchema, load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def _exchange_fits(self, data: dict[str, Any], **_: Any) -> None:
        """``exchange:`` and ``allow: [… exchange]`` go together; its tiers must exist."""
        rules: p.ExchangeRules | None = data.get("exchange")
        allowed = EXCHANGE in ((self.context_raw or {}).get("resolution") or {}).get("allow", [])
        if rules is not None and not allowed:
            raise ValidationError("expected `exchange` in resolution.allow when an `exchange:` "
                                  "section is given, found it missing (no exchange would ever "
                                  "be offered)", "exchange")
        allow = data.get("resolution", p.ResolutionRules()).allow
        if rules is not None and rules.lower not in allow:
            raise ValidationError({"price_difference": {"lower": [
                f"expected one of `resolution.allow` ({', '.join(k.value for k in allow)}), "
                f"found {rules.lower.value!r}"]}}, "exchange")
        tiers = [t.name for t in data.get("tiers", [])]
        for name in rules.instant_for_tiers if rules is not None else ():
            if name not in tiers:
                known = ", ".join(tiers) or "no tiers are defined"
                raise ValidationError({"instant_for_tiers": [
                    f"expected a tier named in `tiers` ({known}), found {name!r}"]}, "exchange")

    @post_load
    def _exchange(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        allowed = EXCHANGE in ((self.context_raw or {}).get("resolution") or {}).get("allow", [])
        rules = data.pop("exchange", None)
        data["exchange"] = rules if rules is not None else p.ExchangeRules(allowed=allowed)
        return data

    context_raw: dict[str, Any] | None = None

    def load(self, data: Any, **kwargs: Any) -> Any:
        # the raw mapping, for the two checks above that read `resolution.allow` as written
        self.context_raw = data if isinstance(data, dict) else None
        return super().load(data, **kwargs)
