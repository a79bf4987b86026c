"""What the published policy says about labels and return shipping follows the same choice the
deduction makes (``policies.published.shipping_fee``, used by ``resolution._label_fee``): a
prepaid label the shop pays is a free return; a label the customer pays is a return-shipping fee
only where the label can be bought; without a label the customer posts the parcel."""

from __future__ import annotations

import pytest

from policies import load_policy_text
from policies.policy import Policy
from policies.published import customer_sentences, merchant_return_policy
from refunds_plugin.language.said import render

S = "https://schema.org/"


def _policy(return_shipping: str) -> Policy:
    return load_policy_text(f"currency: USD\nwindow: {{days: 30}}\n"
                            f"return_shipping: {return_shipping}\n", "published-test")


def test_a_free_label_with_a_restocking_fee_is_not_published_as_a_free_return() -> None:
    pol = load_policy_text("currency: USD\nwindow: {days: 30}\n"
                           "return_shipping: {label: easypost, paid_by: merchant}\n"
                           "fees: {restocking_percent: \"12.5\"}\n", "published-test")
    published = merchant_return_policy(pol, link="https://shop.example/returns/policy")
    assert (published["returnFees"], published["restockingFee"]) == (S + "RestockingFees", 12.5)


@pytest.mark.parametrize(("return_shipping", "can_label", "fees", "amount", "label_sentence"), [
    ("{label: easypost, paid_by: merchant}", True, "FreeReturn", None,
     "We give you a prepaid return label."),
    ("{label: easypost, paid_by: customer, fee: \"4.00\"}", True, "ReturnShippingFees",
     {"@type": "MonetaryAmount", "currency": "USD", "value": "4.00"},
     "We give you a prepaid return label."),
    # the shop cannot buy the label (no carrier key or no return address): no label, no fee
    ("{label: easypost, paid_by: customer, fee: \"4.00\"}", False,
     "ReturnFeesCustomerResponsibility", None,
     "You send items back yourself, by post, with the instructions we give you."),
    ("{label: none, paid_by: customer, fee: \"4.00\"}", True,
     "ReturnFeesCustomerResponsibility", None,
     "You send items back yourself, by post, with the instructions we give you."),
])
def test_labels_and_who_pays_them_are_published_as_the_deduction_takes_them(
    return_shipping: str, can_label: bool, fees: str, amount: dict[str, str] | None,
    label_sentence: str,
) -> None:
    pol = _policy(return_shipping)
    published = merchant_return_policy(pol, link="https://shop.example/returns/policy",
                                       can_label=can_label)
    assert published["returnFees"] == S + fees
    assert published.get("returnShippingFeesAmount") == amount
    said = customer_sentences(pol, can_label=can_label)
    assert label_sentence in said
    assert ("For a return that is not our fault, return shipping is taken from your refund: "
            "4.00 USD, in the currency you paid in." in said) is (amount is not None)


def test_the_reasons_that_pay_no_fee_are_said_apart_from_those_that_pay_no_shipping() -> None:
    pol = load_policy_text(
        "currency: USD\nwindow: {days: 30}\n"
        "fees: {restocking_percent: 10, waive_for_reasons: [changed_mind]}\n"
        "return_shipping: {label: easypost, paid_by: customer, fee: \"4.00\", "
        "free_for: [merchant_fault, too_small, too_large]}\n", "free-test")
    said = customer_sentences(pol, can_label=True)
    assert [s for s in said if s.startswith("No ")] == [
        "No fees are taken when you changed your mind.",
        "No return shipping is taken when an item does not fit."]
    standard = load_policy_text(
        "currency: USD\nwindow: {days: 30}\n"
        "fees: {return_shipping: \"5.95\", waive_for_reasons: [too_small]}\n", "small-test")
    free = [s for s in customer_sentences(standard) if s.startswith("No ")]
    assert free == ["No fees are taken when an item is too small."]
    assert render(free[0], "de") == (
        "Es werden keine Gebühren abgezogen, wenn ein Artikel zu klein ist.")
