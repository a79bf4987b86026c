"""A loaded policy: frozen settings the rules read. Built only by ``schema.py`` from a file.

Amounts are ``AmountTable`` values: integer minor units per currency, so one policy can speak for
a shop selling in several currencies. An order in a currency the table does not list has no such
threshold (see docs/policy.md for what each rule does then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property, lru_cache

from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language.said import Amount
from refunds_plugin.money import Money


class Action(StrEnum):
    """What a rule tells the engine to do with a line it cannot simply accept."""

    ACCEPT = "accept"
    CREDIT = "credit"  # accept, but only as store credit
    REVIEW = "review"
    DECLINE = "decline"


class Anchor(StrEnum):
    DELIVERY = "delivery"
    FULFILMENT = "fulfilment"
    PAYMENT = "payment"


CUSTOMER_REASONS = (Reason.CHANGED_MIND, Reason.TOO_SMALL, Reason.TOO_LARGE, Reason.OTHER)


@dataclass(frozen=True)
class AmountTable:
    """Minor units per ISO currency, e.g. ``{"USD": 2500, "EUR": 2300}``."""

    amounts: tuple[tuple[str, int], ...] = ()

    @cached_property
    def _by_currency(self) -> dict[str, int]:
        return dict(self.amounts)

    def get(self, currency: str) -> int | None:
        return self._by_currency.get(currency)


def percent_of(minor: int, pct: Decimal) -> int:
    """``pct`` percent of ``minor``, rounded half-even: the same as ``Money.percent``, in pure
    integers because it runs on every decision (tests check the two always agree)."""
    num, den = pct.as_integer_ratio()
    q, r = divmod(minor * num, den * 100)
    twice = 2 * r
    return q + 1 if twice > den * 100 or (twice == den * 100 and q % 2) else q


def amount(minor: int, currency: str) -> Amount:
    """``Amount(minor, currency)``, kept: the same amounts recur across decisions (limits, fees,
    shipping, bonuses) and an Amount, once made, never changes. Anything but an int and a str
    (a broken stored order's currency) is made afresh, so any error is Amount's own."""
    if minor.__class__ is int and currency.__class__ is str:
        return _amount(minor, currency)
    return Amount(minor, currency)


_amount = lru_cache(maxsize=8192)(Amount)


@lru_cache(maxsize=8192)
def money_text(minor: int, currency: str) -> str:
    """``"12.50 USD"``; cached, as the same few amounts recur in every explanation."""
    return str(Money(minor, currency))


@dataclass(frozen=True)
class WindowOverride:
    match: str  # "sku" | "tag" | "collection"
    value: str
    days: int | None  # None = unlimited


@dataclass(frozen=True)
class WindowRules:
    days: int | None = 30  # None = unlimited (a lifetime guarantee)
    start: Anchor = Anchor.DELIVERY
    outside: Action = Action.DECLINE
    overrides: tuple[WindowOverride, ...] = ()


@dataclass(frozen=True)
class FinalSaleRules:
    tags: tuple[str, ...] = ()
    action: Action = Action.DECLINE  # what the guarantee turns "final sale" into


@dataclass(frozen=True)
class Limits:
    per_request: AmountTable | None = None  # None = no limit
    per_order: AmountTable | None = None


@dataclass(frozen=True)
class Tier:
    name: str
    min_projected_value: AmountTable | None = None
    min_orders: int = 0
    min_months: int = 0
    extra_window_days: int | None = 0  # None = unlimited
    limits: Limits = field(default_factory=Limits)
    waive_fees: bool = False


@dataclass(frozen=True)
class AbuseRules:
    enabled: bool = False
    window_days: int = 90
    max_refunds: int | None = None
    max_refund_amount: AmountTable | None = None
    max_refund_ratio_percent: Decimal | None = None
    max_not_received_claims: int | None = None
    # Standing: one more refund allowed in the window for every N lifetime orders (None: fixed)
    orders_per_extra_refund: int | None = None
    # The count and amount signals fire only when the customer's lifetime refunded share (this
    # request included) is at least this; a customer who keeps most of what they buy is not
    # reviewed for being busy (None: they always may fire)
    recent_signals_need_ratio_percent: Decimal | None = None
    count_store_credit: bool = False  # does store credit count as money refunded?

    def refund_count_limit(self, order_count: int) -> int | None:
        """The refunds in the window at which the count signal fires, for this many orders."""
        if self.max_refunds is None:
            return None
        extra = order_count // self.orders_per_extra_refund if self.orders_per_extra_refund \
            else 0
        return self.max_refunds + max(0, extra)


@dataclass(frozen=True)
class KeepItemRules:
    below: AmountTable | None = None
    return_label_cost: AmountTable | None = None


@dataclass(frozen=True)
class ResolutionRules:
    default: ResolutionKind = ResolutionKind.REFUND
    allow: tuple[ResolutionKind, ...] = (ResolutionKind.REFUND, ResolutionKind.CREDIT)
    refund_within_days: int | None = None  # after this, customer reasons get credit only
    credit_bonus_percent: Decimal = Decimal(0)
    credit_bonus_max: AmountTable | None = None
    keep_item: KeepItemRules = field(default_factory=KeepItemRules)


class Scope(StrEnum):
    """Which items an exchange may bring: another size or colour of the same product, or any."""

    SAME_PRODUCT = "same_product"
    ANY_PRODUCT = "any_product"


class ShipOn(StrEnum):
    """When the replacement ships, in the order a return reaches them (``approval``: instant)."""

    APPROVAL = "approval"
    FIRST_SCAN = "first_scan"
    DELIVERED = "delivered"
    INSPECTED = "inspected"

    @property
    def rank(self) -> int:
        return list(ShipOn).index(self)


@dataclass(frozen=True)
class ExchangeRules:
    """``exchange:`` of a policy file; ``allowed`` is ``exchange`` in ``resolution.allow``."""

    allowed: bool = False
    scope: Scope = Scope.SAME_PRODUCT
    lower: ResolutionKind = ResolutionKind.REFUND  # how a cheaper item's difference goes back
    # a dearer item: charged (None), or waived up to this much per currency and the rest charged
    waive_up_to: AmountTable | None = None
    fees_apply: bool = False  # ``fees: apply``: the return fees count against the exchange
    ship_on: ShipOn = ShipOn.FIRST_SCAN
    instant_for_tiers: tuple[str, ...] = ()  # ship_on approval only for these (empty: all)
    reasons: tuple[Reason, ...] = ()  # the reasons an exchange is offered for (empty: all)


@dataclass(frozen=True)
class FeeRules:
    restocking_percent: Decimal = Decimal(0)
    return_shipping: AmountTable | None = None
    waive_for_reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class ShippingRules:
    refund_with_last_item: bool = True
    refund_on_merchant_fault: bool = True


class RefundOn(StrEnum):
    """When the money of a return that must come back moves (``refund_on``)."""

    APPROVAL = "approval"  # at once (today's behaviour)
    FIRST_SCAN = "first_scan"  # the carrier's first scan of the parcel
    DELIVERED = "delivered"  # the parcel reached the shop
    INSPECTED = "inspected"  # the warehouse received it and the lines match the claim


@dataclass(frozen=True)
class ReturnShippingRules:
    """How an item comes back: the label, who pays for it, and by when it must be sent."""

    label: str = "none"  # "none" (instructions only) | "easypost" (a prepaid label)
    paid_by: str = "merchant"  # "merchant" | "customer" (the fee below is deducted)
    fee: AmountTable | None = None  # what the customer pays for the label when paid_by customer
    # who never pays: "merchant_fault", customer reasons (changed_mind …) and tier names
    free_for: tuple[str, ...] = ("merchant_fault",)
    return_by_days: int = 30
    grace_days: int = 7
    remind_days_before: int = 5  # the reminder, this many days before return_by (0: none)
    # ((language, text), …): the merchant's packing instructions per language; a plain text
    # in the file is ("", text), written in the shop's language
    packing_notes: tuple[tuple[str, str], ...] = ()
    carriers: tuple[str, ...] = ()  # allowed carriers (empty: any)
    services: tuple[str, ...] = ()  # allowed services (empty: any)

    def packing_notes_for(self, reader: str, shop: str) -> tuple[str, str]:
        """The packing notes a reader of ``reader`` gets and the language they are in: theirs,
        else the shop's, else English, else the first given ("" when there are none)."""
        given = {code or shop: text for code, text in self.packing_notes}
        for code in (reader, shop, "en", *given):
            if code in given:
                return given[code], code
        return "", shop


@dataclass(frozen=True)
class Detector:
    """One "looking for trouble" detector (overpayment, duplicate charge)."""

    enabled: bool = True
    resolution: ResolutionKind = ResolutionKind.REFUND
    auto_approve_up_to: AmountTable | None = None  # None = no limit
    window_hours: int = 72


@dataclass(frozen=True)
class FailedPaymentDetector:
    enabled: bool = True
    follow_up_after_hours: int = 24


@dataclass(frozen=True)
class TroubleRules:
    overpayment: Detector = field(default_factory=Detector)
    duplicate_charge: Detector = field(default_factory=Detector)
    failed_payment: FailedPaymentDetector = field(default_factory=FailedPaymentDetector)
    # False: a correction on an order a re-sent order.paid changed waits for a person
    auto_correct_order_updates: bool = False


@dataclass(frozen=True)
class Policy:
    """A validated policy plus where it came from (``name``, sha256 ``content_hash``)."""

    name: str
    content_hash: str
    title: str = ""
    promise_hours: int = 48
    window: WindowRules = field(default_factory=WindowRules)
    final_sale: FinalSaleRules = field(default_factory=FinalSaleRules)
    reasons: tuple[tuple[Reason, Action], ...] = tuple((r, Action.ACCEPT) for r in CUSTOMER_REASONS)
    limits: Limits = field(default_factory=Limits)
    expected_years: int = 3
    tiers: tuple[Tier, ...] = ()
    abuse: AbuseRules = field(default_factory=AbuseRules)
    resolution: ResolutionRules = field(default_factory=ResolutionRules)
    fees: FeeRules = field(default_factory=FeeRules)
    shipping: ShippingRules = field(default_factory=ShippingRules)
    trouble: TroubleRules = field(default_factory=TroubleRules)
    return_shipping: ReturnShippingRules = field(default_factory=ReturnShippingRules)
    # when each kind of money moves for a return that must come back
    refund_on: tuple[tuple[ResolutionKind, RefundOn], ...] = (
        (ResolutionKind.REFUND, RefundOn.APPROVAL), (ResolutionKind.CREDIT, RefundOn.APPROVAL))
    exchange: ExchangeRules = field(default_factory=ExchangeRules)

    def refund_on_for(self, kind: ResolutionKind, *, instant_exchange: bool = False,
                      can_label: bool = True) -> RefundOn:
        """When ``kind`` of money moves for a return that comes back. An instant exchange
        (``ship_on: approval``) sends the new items first, so its money waits at least for the
        original to be delivered: the original's value stays reserved until it is back. Without
        a prepaid label (``label: none``, or ``OrderFacts.can_label`` False: the shop cannot buy
        one) no carrier scan ever reaches us, so ``first_scan`` waits for the parcel to reach
        us instead (``delivered``: the warehouse's receipt releases it)."""
        on = dict(self.refund_on).get(kind, RefundOn.APPROVAL)
        if instant_exchange and on in (RefundOn.APPROVAL, RefundOn.FIRST_SCAN):
            return RefundOn.DELIVERED
        if on is RefundOn.FIRST_SCAN and not self.labels_scanned(can_label):
            return RefundOn.DELIVERED
        return on

    def labels_scanned(self, can_label: bool) -> bool:
        """Whether a carrier scan can reach us: only a prepaid label we buy is tracked, so the
        policy must ask for one (``label: easypost``) and the shop must be able to buy it."""
        return can_label and self.return_shipping.label != "none"

    @property
    def waits_for_a_scan(self) -> bool:
        """Does any money wait for the carrier's first scan (``refund_on: first_scan``)?"""
        return any(on is RefundOn.FIRST_SCAN for _, on in self.refund_on)

    def ship_on_for(self, ship_on: ShipOn, *, can_label: bool = True) -> ShipOn:
        """When an exchange's new items ship for a return that comes back, as ``refund_on_for``
        does for money: without a prepaid label no carrier scan ever reaches us, so
        ``first_scan`` waits for the parcel to reach us instead (``delivered``: the warehouse's
        receipt ships it)."""
        if ship_on is ShipOn.FIRST_SCAN and not self.labels_scanned(can_label):
            return ShipOn.DELIVERED
        return ship_on

    @property
    def ships_on_a_scan(self) -> bool:
        """Does an exchange's new item wait for the carrier's first scan (``ship_on:
        first_scan``, or an instant exchange kept for some tiers: the others wait for it)?"""
        x = self.exchange
        return x.allowed and (x.ship_on is ShipOn.FIRST_SCAN or (
            x.ship_on is ShipOn.APPROVAL and bool(x.instant_for_tiers)))

    @property
    def instant_holds_more(self) -> bool:
        """Does an instant exchange (``ship_on: approval``, for all or some tiers) hold money
        that ``refund_on`` alone would send sooner (``refund_on_for``: until delivery)?"""
        x = self.exchange
        return x.allowed and x.ship_on is ShipOn.APPROVAL and any(
            on in (RefundOn.APPROVAL, RefundOn.FIRST_SCAN) for _, on in self.refund_on)

    @cached_property
    def holds_money(self) -> bool:
        """Does any money wait for the parcel (``refund_on`` other than ``approval``)?"""
        return any(on is not RefundOn.APPROVAL for _, on in self.refund_on)

    @property
    def abuse_window_days(self) -> int:
        """The rolling window the caller uses for ``CustomerHistory.refunds_recent_*``."""
        return self.abuse.window_days

    def amount_tables(self) -> list[tuple[str, AmountTable]]:
        """Every amount rule the policy sets, by its key in the file (for currency checks)."""
        found: list[tuple[str, AmountTable | None]] = [
            ("limits.auto_approve_per_request", self.limits.per_request),
            ("limits.auto_approve_per_order", self.limits.per_order),
            ("abuse.max_refund_amount", self.abuse.max_refund_amount),
            ("resolution.credit_bonus_max", self.resolution.credit_bonus_max),
            ("resolution.keep_item.below", self.resolution.keep_item.below),
            ("resolution.keep_item.return_label_cost",
             self.resolution.keep_item.return_label_cost),
            ("fees.return_shipping", self.fees.return_shipping),
            ("return_shipping.fee", self.return_shipping.fee),
            ("exchange.price_difference.higher.waive_up_to", self.exchange.waive_up_to),
            ("trouble.overpayment.auto_approve_up_to", self.trouble.overpayment.auto_approve_up_to),
            ("trouble.duplicate_charge.auto_approve_up_to",
             self.trouble.duplicate_charge.auto_approve_up_to),
        ]
        for i, t in enumerate(self.tiers):
            found += [(f"tiers[{i}].min_projected_value", t.min_projected_value),
                      (f"tiers[{i}].limits.auto_approve_per_request", t.limits.per_request),
                      (f"tiers[{i}].limits.auto_approve_per_order", t.limits.per_order)]
        return [(key, table) for key, table in found if table is not None]

    def reason_action(self, reason: Reason) -> Action:
        return self._reason_actions.get(reason, Action.ACCEPT)

    @cached_property
    def _reason_actions(self) -> dict[Reason, Action]:
        return dict(self.reasons)

    def describe(self, *, can_label: bool = True, returns_open: bool = True,
                 test_mode: bool = False) -> list[str]:
        """The rules in plain words, one sentence each; ``can_label``: whether the shop can buy
        the prepaid labels the policy asks for (told by the caller: a carrier is configured);
        ``returns_open``: whether a return is opened for the parcel (a return address is
        configured); ``test_mode``: no Stripe key or a test key (no promise is told)."""
        from policies.description import describe

        return describe(self, can_label=can_label, returns_open=returns_open,
                        test_mode=test_mode)
