"""An instant exchange (``exchange.ship_on: approval``) holds its return's money until the
parcel is delivered (``Policy.refund_on_for``); the published page (``customer_sentences``) and
``refunds policy check`` (``describe``) say so, beside the money that still moves at approval."""

from __future__ import annotations

from policies.published import customer_sentences
from refunds_plugin.language.said import render
from tests.unit.policies.test_policy_exchange import SIZES, decide, policy

HELD = ("If we send you a new item before your return reaches us, no money for that return is "
        "sent before your parcel has arrived.")


def test_an_instant_exchange_holds_a_cheaper_items_difference_until_delivery() -> None:
    d = decide(policy("{ship_on: approval, price_difference: {lower: refund}}"), SIZES[2])
    assert [(t.code, t.message) for t in d.trace if t.rule == "refund_on"] == [
        ("refund_on_delivered", "Your refund is sent once your parcel reaches us.")]


def test_the_published_page_says_an_instant_exchanges_money_waits_for_the_parcel() -> None:
    pol = policy("{ship_on: approval, price_difference: {lower: refund}}")
    said = customer_sentences(pol, can_label=True, returns_open=True)
    assert said[-2:] == ["We send your money within 48 hours once your return is approved.", HELD]
    assert render(said[-1], "de") == (
        "Wenn wir Ihnen einen neuen Artikel schicken, bevor Ihre Rücksendung bei uns ist, wird "
        "für diese Rücksendung kein Geld gesendet, bevor Ihr Paket angekommen ist.")


def test_the_published_page_says_nothing_more_when_the_new_item_waits_for_the_parcel() -> None:
    said = customer_sentences(policy("{ship_on: first_scan}"), can_label=True)
    assert HELD not in said
    # no return address: no return is opened, so nothing waits for a parcel
    said = customer_sentences(policy("{ship_on: approval}"), returns_open=False)
    assert HELD not in said


def test_policy_check_says_an_instant_exchanges_money_waits_for_delivery() -> None:
    rules = policy("{ship_on: approval, price_difference: {lower: refund}}").describe(
        can_label=True, returns_open=True)
    assert rules[-3:-1] == [
        "Money is on its way within 48 hours of approval.",
        "An instant exchange (its new item ships at approval) holds the money of its return: on "
        "its way within 48 hours of delivery to the shop."]
    tiers = policy("{ship_on: approval, instant_for_tiers: [loyal]}",
                   "refund_on: {refund: approval, credit: inspected}\n").describe()
    assert ("An instant exchange (its new item ships at approval for loyal customers) holds the "
            "money of its return: on its way within 48 hours of delivery to the shop (refund); "
            "the warehouse's inspection (credit).") in tiers
