"""Exchanges in the policy language: which lines are swapped, the price difference to the minor
unit (USD, JPY with no minor unit, KWD with three decimals in Stripe's steps of ten), fees, and
when the new item ships; and every mistake in an ``exchange:`` section named precisely."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from policies import PolicyError, evaluate, load_policy_text
from refunds_plugin.domain.facts import (
    CustomerHistory,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from tests.unit.policies.policy_builders import NOW, order

SIZES = (Variant("SHOE-42", "Trail shoe 42", 10000, True, "v42"),
         Variant("SHOE-43W", "Trail shoe 43 wide", 12500, True, "v43"),
         Variant("SHOE-39", "Trail shoe 39", 8000, True, "v39"),
         Variant("SHOE-40", "Trail shoe 40", 10000, False, "v40"))
SHOE = OrderLine("shoe", "SHOE-41", "Trail shoe 41", 1, 10000, variants=SIZES)
BOOT = Variant("BOOT-42", "Hiking boot 42", 10000, True)
BASE = """
currency: USD
window: {days: 30}
tiers: [{name: loyal, min_orders: 3}]
resolution: {allow: [refund, credit, exchange], credit_bonus_percent: 10}
return_shipping: {label: easypost}
"""


def policy(exchange: str = "{}", extra: str = "") -> object:
    return load_policy_text(BASE + extra + f"exchange: {exchange}\n", "exchange-test")


def decide(pol, item: Variant, *, reason: Reason = Reason.TOO_SMALL, currency: str = "USD",
           step: int = 1, provider: str = "stripe", orders: int = 1):
    facts = order(lines=(SHOE,), shipping=0, currency=currency,
                  payments=(PaymentFacts(provider, "pi_1", 10000),),
                  history=CustomerHistory(order_count=orders))
    facts = replace(facts, refund_increment=step)
    req = ReturnRequest("ret-1", "1001", (ReturnLine("shoe", 1, reason, item),))
    return evaluate(pol, facts, req, NOW)


# (case, exchange section, extra policy, item, kwargs) ->
#   (exchanged, difference, back, waived, charge, refund, credit, ship_on, exchange code)
CASES = [
    ("same product, same price", "{}", "", SIZES[0], {},
     (True, 0, 0, 0, 0, 0, 0, "first_scan", "exchange_approved")),
    ("cheaper, refunded", "{price_difference: {lower: refund}}", "", SIZES[2], {},
     (True, -2000, 2000, 0, 0, 2000, 0, "first_scan", "exchange_approved")),
    ("cheaper, credited", "{price_difference: {lower: credit}}", "", SIZES[2], {},
     (True, -2000, 2000, 0, 0, 0, 2000, "first_scan", "exchange_approved")),
    ("dearer, charged", "{price_difference: {higher: charge}}", "", SIZES[1], {},
     (True, 2500, 0, 0, 2500, 0, 0, "first_scan", "exchange_approved")),
    ("dearer, waived up to 10.00, rest charged",
     '{price_difference: {higher: {waive_up_to: {USD: "10.00"}}}}', "", SIZES[1], {},
     (True, 2500, 0, 1000, 1500, 0, 0, "first_scan", "exchange_approved")),
    ("dearer, wholly waived", '{price_difference: {higher: {waive_up_to: "30.00"}}}', "",
     SIZES[1], {}, (True, 2500, 0, 2500, 0, 0, 0, "first_scan", "exchange_approved")),
    ("waiver in another currency only: all charged",
     '{price_difference: {higher: {waive_up_to: {EUR: "30.00"}}}}', "", SIZES[1], {},
     (True, 2500, 0, 0, 2500, 0, 0, "first_scan", "exchange_approved")),
    ("JPY: no minor unit", '{price_difference: {higher: {waive_up_to: {JPY: "1000"}}}}', "",
     SIZES[1], {"currency": "JPY"},
     (True, 2500, 0, 1000, 1500, 0, 0, "first_scan", "exchange_approved")),
    ("KWD on Stripe: the charge in steps of ten fils, the odd fils waived",
     '{price_difference: {higher: {waive_up_to: {KWD: "1.000"}}}}', "",
     replace(SIZES[1], unit_amount=12345), {"currency": "KWD", "step": 10},
     (True, 2345, 0, 1005, 1340, 0, 0, "first_scan", "exchange_approved")),
    ("any product", "{scope: any_product}", "", BOOT, {},
     (True, 0, 0, 0, 0, 0, 0, "first_scan", "exchange_approved")),
    ("not the same product: a refund instead", "{scope: same_product}", "", BOOT, {},
     (False, None, None, None, None, 10000, 0, None, "exchange_not_same_product")),
    ("out of stock: a refund instead", "{}", "", SIZES[3], {},
     (False, None, None, None, None, 10000, 0, None, "exchange_out_of_stock")),
    ("out of stock as the request says", "{}", "", replace(SIZES[0], in_stock=False), {},
     (False, None, None, None, None, 10000, 0, None, "exchange_out_of_stock")),
    ("not for this reason", "{reasons: [too_small, too_large]}", "", SIZES[0],
     {"reason": Reason.CHANGED_MIND},
     (False, None, None, None, None, 10000, 0, None, "exchange_not_for_reason")),
    ("fees waived on an exchange", "{fees: waive}", "fees: {restocking_percent: 10}\n",
     SIZES[0], {"reason": Reason.CHANGED_MIND},
     (True, 0, 0, 0, 0, 0, 0, "first_scan", "exchange_approved")),
    ("fees applied to an exchange are charged", "{fees: apply}",
     "fees: {restocking_percent: 10}\n", SIZES[0], {"reason": Reason.CHANGED_MIND},
     (True, 1000, 0, 0, 1000, 0, 0, "first_scan", "exchange_approved")),
    ("fees applied come off a cheaper item's difference", "{fees: apply}",
     "fees: {restocking_percent: 10}\n", SIZES[2], {"reason": Reason.CHANGED_MIND},
     (True, -1000, 1000, 0, 0, 1000, 0, "first_scan", "exchange_approved")),
    ("instant for the tier", "{ship_on: approval, instant_for_tiers: [loyal]}", "", SIZES[0],
     {"orders": 5}, (True, 0, 0, 0, 0, 0, 0, "approval", "exchange_approved")),
    ("not instant below the tier", "{ship_on: approval, instant_for_tiers: [loyal]}", "",
     SIZES[0], {"orders": 1}, (True, 0, 0, 0, 0, 0, 0, "first_scan", "exchange_approved")),
    ("instant for everyone", "{ship_on: approval}", "", SIZES[0], {},
     (True, 0, 0, 0, 0, 0, 0, "approval", "exchange_approved")),
    ("ships on delivery", "{ship_on: delivered}", "", SIZES[0], {},
     (True, 0, 0, 0, 0, 0, 0, "delivered", "exchange_approved")),
    ("below Stripe's USD minimum (0.50): waived, not charged", "{}", "",
     replace(SIZES[1], unit_amount=10049), {},
     (True, 49, 0, 49, 0, 0, 0, "first_scan", "exchange_approved")),
    ("at Stripe's USD minimum: charged", "{}", "", replace(SIZES[1], unit_amount=10050), {},
     (True, 50, 0, 0, 50, 0, 0, "first_scan", "exchange_approved")),
    ("what is left after the policy's waiver below the minimum: all waived",
     '{price_difference: {higher: {waive_up_to: {USD: "1.00"}}}}', "",
     replace(SIZES[1], unit_amount=10130), {},
     (True, 130, 0, 130, 0, 0, 0, "first_scan", "exchange_approved")),
    ("below Stripe's JPY minimum (50 yen): waived", "{}", "",
     replace(SIZES[1], unit_amount=10049), {"currency": "JPY"},
     (True, 49, 0, 49, 0, 0, 0, "first_scan", "exchange_approved")),
    ("KWD has no fixed Stripe minimum: the steps of ten fils only", "{}", "",
     replace(SIZES[1], unit_amount=10045), {"currency": "KWD", "step": 10},
     (True, 45, 0, 5, 40, 0, 0, "first_scan", "exchange_approved")),
    ("a charge on an order we cannot charge: a refund instead", "{}", "", SIZES[1],
     {"provider": "saleor"},
     (False, None, None, None, None, 10000, 0, None, "exchange_charge_not_possible")),
]


@pytest.mark.parametrize(("section", "extra", "item", "kwargs", "want"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exchange_decisions(section, extra, item, kwargs, want):
    d = decide(policy(section, extra), item, **kwargs)
    exchanged, diff, back, waived, charge, refund, credit, ship_on, code = want
    assert d.outcome.value == "approve", d.explanation
    said = [r for r in d.trace if r.rule == "exchange"]
    assert [r.code for r in said] == [code]
    assert d.refund_amount == refund
    assert sum(r.total for r in d.resolutions if r.kind is ResolutionKind.CREDIT) == credit
    if not exchanged:
        assert d.exchange is None
        assert said[0].message in d.explanation
        assert said[0].message.endswith("so it comes back as a refund instead.")
        return
    ex = d.exchange
    assert ex is not None
    assert (ex.difference, ex.back, ex.waived, ex.charge, ex.ship_on) == (
        diff, back, waived, charge, ship_on)
    assert [(ln.line_id, ln.quantity, ln.out_amount, ln.sku, ln.in_amount) for ln in ex.lines] \
        == [("shoe", 1, 10000, item.sku, item.unit_amount)]
    assert d.return_required


def test_an_exchange_is_explained_in_plain_words():
    d = decide(policy('{price_difference: {higher: {waive_up_to: {USD: "10.00"}}}}'), SIZES[1])
    assert d.explanation == (
        "Your return of 1 × Trail shoe 41 is approved. We will exchange Trail shoe 41 for Trail "
        "shoe 43 wide. The new item costs 25.00 USD more: we waive 10.00 USD and you pay 15.00 "
        "USD. Your exchange goes ahead once you have paid. Your new item ships as soon as the "
        "carrier first scans your return. Please send back: Trail shoe 41.")


# (case, exchange section, return_shipping, can_label, orders) ->
#   (ship_on, code, what the customer reads, saw["carrier_scan"])
NO_SCAN = [
    ("no carrier key: the first scan waits for delivery", "{}", "{label: easypost}", False, 1,
     ("delivered", "exchange_ships_delivered",
      "Your new item ships as soon as your return is delivered to us.", False)),
    ("label none: the first scan waits for delivery", "{}", "{label: none}", True, 1,
     ("delivered", "exchange_ships_delivered",
      "Your new item ships as soon as your return is delivered to us.", False)),
    ("a label bought: the first scan", "{}", "{label: easypost}", True, 1,
     ("first_scan", "exchange_ships_first_scan",
      "Your new item ships as soon as the carrier first scans your return.", None)),
    ("not instant below the tier, no label: delivery",
     "{ship_on: approval, instant_for_tiers: [loyal]}", "{label: none}", True, 1,
     ("delivered", "exchange_not_instant_for_tier",
      "Instant exchanges are for loyal customers, so your new item ships as soon as your return "
      "is delivered to us.", False)),
    ("instant for the tier, no label: still instant",
     "{ship_on: approval, instant_for_tiers: [loyal]}", "{label: none}", True, 5,
     ("approval", "exchange_ships_approval",
      "Your new item ships right away, before your return reaches us.", None)),
    ("inspected, no label: inspected", "{ship_on: inspected}", "{label: none}", False, 1,
     ("inspected", "exchange_ships_inspected",
      "Your new item ships as soon as we have inspected your return.", None)),
]


@pytest.mark.parametrize(("section", "shipping", "can_label", "orders", "want"),
                         [c[1:] for c in NO_SCAN], ids=[c[0] for c in NO_SCAN])
def test_without_a_label_an_exchange_waiting_for_the_first_scan_ships_on_delivery(
    section, shipping, can_label, orders, want
):
    """Only a label we buy is tracked: without one no carrier scan comes, so ``first_scan``
    is decided as ``delivered`` (as ``refund_on`` is), and the customer is told so."""
    pol = load_policy_text(BASE.replace("return_shipping: {label: easypost}",
                                        f"return_shipping: {shipping}")
                           + f"exchange: {section}\n", "no-scan")
    facts = order(lines=(SHOE,), shipping=0, payments=(PaymentFacts("stripe", "pi_1", 10000),),
                  history=CustomerHistory(order_count=orders))
    facts = replace(facts, can_label=can_label)
    req = ReturnRequest("ret-1", "1001", (ReturnLine("shoe", 1, Reason.TOO_SMALL, SIZES[0]),))
    d = evaluate(pol, facts, req, NOW)
    ship_on, code, said, scan = want
    assert d.exchange is not None
    assert d.exchange.ship_on == ship_on
    [step] = [r for r in d.trace if r.rule == "exchange_ship"]
    assert (step.code, step.message, step.saw.get("carrier_scan")) == (code, said, scan)
    assert said in d.explanation


def test_an_even_exchange_says_nothing_moves():
    d = decide(policy(), SIZES[0])
    assert "The new item costs the same: nothing to pay, nothing back." in d.explanation
    assert "nothing left to refund" not in d.explanation
    assert d.resolutions == ()


def test_a_refused_exchange_offers_credit_with_its_bonus_when_credit_is_the_choice():
    pol = load_policy_text(BASE.replace("allow: [refund, credit, exchange]",
                                        "allow: [refund, credit], default: credit"),
                           "no-exchanges")
    d = decide(pol, SIZES[0])
    said = next(r for r in d.trace if r.rule == "exchange")
    assert said.code == "exchange_not_offered"
    assert said.message == ("We can't exchange Trail shoe 41: we do not offer exchanges, so it "
                            "comes back as store credit with its 10% bonus instead.")
    assert d.credit_amount == 11000 and d.exchange is None


def test_policy_check_says_the_exchange_rules():
    pol = policy('{scope: same_product, price_difference: {lower: credit, higher: {waive_up_to:'
                 ' {USD: "10.00", JPY: "1000"}}}, ship_on: approval, instant_for_tiers: [loyal]}')
    assert ("Exchanges: a returned item may be swapped for another size or colour of the same "
            "product. A cheaper item: the difference comes back as store credit; a dearer one: "
            "we waive up to 1000 JPY / 10.00 USD of the difference and the customer pays the "
            "rest. An exchange has no return fees. The new item ships at once, on approval "
            "(instant exchange) for loyal customers; for others when the carrier first scans "
            "the return. An exchange we cannot make (out of stock, not allowed) is offered as a "
            "refund or store credit instead.") in pol.describe()


def test_waive_up_to_is_exact_minor_units_per_currency():
    pol = policy('{price_difference: {higher: {waive_up_to: {USD: "10.05", JPY: "1000", '
                 'KWD: "2.345"}}}}')
    assert pol.exchange.waive_up_to.amounts == (("JPY", 1000), ("KWD", 2345), ("USD", 1005))


MISTAKES = [
    ("only exchange allowed", BASE.replace("[refund, credit, exchange]", "[exchange]")
     + "exchange: {}\n", "resolution.allow",
     "expected refund or credit beside exchange, found only exchange: an exchange that cannot "
     "be made needs a refund or store credit to offer instead"),
    ("a section without exchange allowed",
     BASE.replace("[refund, credit, exchange]", "[refund, credit]") + "exchange: {}\n",
     "exchange", "expected `exchange` in resolution.allow when an `exchange:` section is "
     "given, found it missing (no exchange would ever be offered)"),
    ("unknown tier", BASE + "exchange: {ship_on: approval, instant_for_tiers: [gold]}\n",
     "exchange.instant_for_tiers", "expected a tier named in `tiers` (loyal), found 'gold'"),
    ("instant tiers without instant", BASE + "exchange: {instant_for_tiers: [loyal]}\n",
     "exchange.instant_for_tiers", "expected `ship_on: approval` with instant_for_tiers "
     "(instant exchanges are what it limits), found ship_on 'first_scan'"),
    ("a float waiver", BASE + "exchange: {price_difference: {higher: {waive_up_to: {USD: 10.5}}}}"
     "\n", "exchange.price_difference.higher.waive_up_to",
     'USD: expected a quoted decimal string such as "25.00" or a mapping like {USD: "25.00"}, '
     "found 10.5"),
    ("a waiver in more decimals than the currency has",
     BASE + 'exchange: {price_difference: {higher: {waive_up_to: {JPY: "10.5"}}}}\n',
     "exchange.price_difference.higher.waive_up_to", None),
    ("higher neither charge nor waiver", BASE + "exchange: {price_difference: {higher: pay}}\n",
     "exchange.price_difference.higher",
     "expected \"charge\" or a mapping like {waive_up_to: {USD: \"10.00\"}}, found 'pay'"),
    ("lower not allowed", BASE.replace("[refund, credit, exchange]", "[refund, exchange]")
     + "exchange: {price_difference: {lower: credit}}\n", "exchange.price_difference.lower",
     "expected one of `resolution.allow` (refund), found 'credit'"),
    ("unknown ship_on", BASE + "exchange: {ship_on: tomorrow}\n", "exchange.ship_on",
     "expected one of approval, first_scan, delivered, inspected, found 'tomorrow'"),
    ("unknown scope", BASE + "exchange: {scope: similar}\n", "exchange.scope",
     "expected one of same_product, any_product, found 'similar'"),
    ("unknown fees", BASE + "exchange: {fees: maybe}\n", "exchange.fees",
     "expected one of waive, apply, found 'maybe'"),
]


@pytest.mark.parametrize(("text", "path", "said"), [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_each_exchange_mistake_is_named(text, path, said):
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "bad")
    paths = [p for p, _ in caught.value.problems]
    assert path in paths, caught.value.problems
    if said is not None:
        assert dict(caught.value.problems)[path] == said


def test_a_request_with_an_exchange_and_a_plain_return_settles_each_its_own_way():
    pol = policy("{price_difference: {lower: credit}}")
    mug = OrderLine("mug", "MUG-1", "Mug", 1, 2500)
    facts = replace(order(lines=(SHOE, mug), shipping=0,
                          payments=(PaymentFacts("stripe", "pi_1", 12500),)))
    req = ReturnRequest("ret-1", "1001", (
        ReturnLine("shoe", 1, Reason.TOO_LARGE, SIZES[2]),
        ReturnLine("mug", 1, Reason.CHANGED_MIND)), preferred_resolution=ResolutionKind.REFUND)

    d = evaluate(pol, facts, req, NOW)

    assert d.outcome.value == "approve"
    assert [(r.kind.value, r.amount) for r in d.resolutions] == [("refund", 2500),
                                                                ("credit", 2000)]
    assert d.exchange is not None and (d.exchange.difference, d.exchange.back) == (-2000, 2000)
    assert [(ln.line_id, ln.amount) for ln in d.lines] == [("shoe", 10000), ("mug", 2500)]
    assert "The new item costs 20.00 USD less; that difference comes back as store credit." \
        in d.explanation


def test_a_difference_below_stripes_minimum_is_waived_and_explained() -> None:
    d = decide(policy("{}"), replace(SIZES[1], unit_amount=10030))

    assert d.exchange is not None and (d.exchange.waived, d.exchange.charge) == (30, 0)
    [price] = [r for r in d.trace if r.rule == "exchange_price"]
    assert (price.code, price.message) == (
        "exchange_higher_below_minimum",
        "The new item costs 0.30 USD more; that is less than the smallest amount we can charge "
        "by card (0.50 USD), so we waive it.")
    assert price.message in d.explanation
    assert price.saw["minimum_charge"] == 50


def test_a_dry_run_shops_dearer_exchange_replays_as_it_was_decided():
    """``policy simulate`` and ``compare`` read the stored facts back: a shop that could not
    take the difference (a dry run) stays one that cannot, so the replay gives its answer."""
    from refunds_plugin.finance.simulation import facts_from_json
    from refunds_plugin.ledger.decisions import facts_json
    from refunds_plugin.ledger.journal import to_json

    pol = policy("{price_difference: {higher: charge}}")
    facts = replace(order(lines=(SHOE,), shipping=0, payments=(PaymentFacts("stripe", "pi_1",
                                                                             10000),)),
                    can_charge=False)
    req = ReturnRequest("ret-1", "1001", (ReturnLine("shoe", 1, Reason.TOO_SMALL, SIZES[1]),))
    stored = json.loads(to_json(facts_json(facts)))
    assert stored["can_charge"] is False
    replayed = facts_from_json(stored)

    assert replayed == facts
    live, again = evaluate(pol, facts, req, NOW), evaluate(pol, replayed, req, NOW)
    assert again == live
    assert live.exchange is None  # the difference cannot be taken: not swapped
    assert evaluate(pol, replace(facts, can_charge=True), req, NOW).exchange is not None
