"""Every English sentence the returns page shows a customer, in one place.

A shop translates the page by setting ``app.config["RETURNS_STRINGS"]`` to a mapping of the keys
below (any subset) before the first request; placeholders in ``{braces}`` must be kept. The
decision's explanation itself comes from the policy (``policies/explanation.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

ENGLISH: dict[str, str] = {
    "lang": "en",
    "skip_to_content": "Skip to the main content",
    "page_title": "Returns",
    "lookup_heading": "Start a return",
    "lookup_intro": "Enter your order number and the email address you used when you ordered.",
    "order_number": "Order number",
    "order_number_hint": "You will find it in your order confirmation email.",
    "email": "Email address",
    "find_order": "Find my order",
    "not_found": (
        "We could not find an order with that number and email address. Please check both "
        "and try again."
    ),
    "missing_fields": "Please enter both your order number and your email address.",
    "too_many_tries": (
        "Too many attempts. For your security, please wait a few minutes before trying again."
    ),
    "too_many_heading": "Please wait a moment",
    "form_expired": "This form has expired. Please start your return again.",
    "form_expired_heading": "Please start again",
    "start_again": "Start again",
    "order_heading": "Order {order}",
    "order_intro": "Choose what you would like to return.",
    "item_price": "{amount} each",
    "quantity": "How many to return",
    "quantity_none": "None",
    "reason": "Reason",
    "reason_choose": "Choose a reason",
    "reason_damaged": "It arrived damaged",
    "reason_defective": "It does not work",
    "reason_wrong_item": "I received the wrong item",
    "reason_not_as_described": "It is not as described",
    "reason_not_received": "It never arrived",
    "reason_changed_mind": "I changed my mind",
    "reason_too_small": "It is too small",
    "reason_too_large": "It is too large",
    "reason_other": "Another reason",
    "returnable_until": "You can return this until {date}.",
    "returnable_forever": "You can return this at any time.",
    "returnable_no_date": "We will check the dates for this item.",
    "refund_until": "A refund to your original payment is available until {date}.",
    "already_returned": "Already returned.",
    "window_closed": "The return window for this item ended on {date}.",
    "window_closed_credit": (
        "The return window for this item ended on {date}. You can still send it back for store "
        "credit."
    ),
    "window_closed_review": (
        "The return window for this item ended on {date}. You can still ask: our team will "
        "look at it."
    ),
    "final_sale": (
        "Final sale: this item can be returned only if something went wrong on our side (it "
        "arrived damaged, does not work, is the wrong item, is not as described, or never "
        "arrived)."
    ),
    "final_sale_until": "For those, you can return it until {date}.",
    "all_returned": "Everything in this order has already been returned.",
    "earlier_returns": "Your returns for this order",
    "earlier_return": "Return sent on {date}: {state}.",
    "earlier_approved": "approved",
    "earlier_checking": "our team is checking it",
    "earlier_declined": "not accepted",
    "comment": "Anything you would like to tell us? (optional)",
    "resolution": "How would you like your money back?",
    "exchange_for": "Exchange for another size/colour",
    "exchange_none": "No, give me my money back",
    "exchange_option": "{name} ({amount})",
    "exchange_sold_out": "{name}: sold out",
    "pick_exchange": "{item}: that size or colour is no longer offered; please choose again.",
    "exchange_heading": "Your exchange",
    "exchange_item": "{qty} × {name}",
    "exchange_pay": "Pay the difference of {amount} to go ahead with your exchange",
    "exchange_status_awaiting_payment": "Waiting for your payment of the difference.",
    "exchange_status_waiting": "Your new item ships once your return is on its way to us.",
    "exchange_status_ready": "Your new item is ready to ship.",
    "exchange_status_shipped": "Your new item is on its way.",
    "exchange_status_fallen_back": (
        "The difference was not paid in time, so your return became a refund or store credit "
        "instead."
    ),
    "exchange_status_failed": "We could not ship your new item yet; our team will contact you.",
    "exchange_status_out_of_stock": (
        "Your new item went out of stock before we could send it, so your exchange became a "
        "refund or store credit instead. Nothing else will be sent to you for this exchange."
    ),
    "resolution_refund": "Refund to my original payment",
    "resolution_credit": "Store credit",
    "resolution_credit_bonus": "Store credit, with a {percent}% bonus",
    "resolution_only_refund": "Your money goes back to your original payment.",
    "resolution_only_credit": "You get store credit.",
    "submit": "Send my return request",
    "pick_something": "Please choose at least one item to return.",
    "pick_reason": "Please choose a reason for {item}.",
    "pick_quantity": "Please choose how many of {item} to return.",
    "unknown_line": "Your order has no item {line}. Please start your return again.",
    "line_twice": "{item} is listed twice. Please choose it once.",
    "line_returned": "{item} has already been returned.",
    "too_many_units": "You can return at most {left} of {item}, not {qty}.",
    "errors_heading": "There is a problem",
    "answer_heading_approve": "Your return is approved",
    "answer_heading_review": "We need a quick check",
    "answer_heading_decline": "We can't accept this return",
    "answer_refund": "Refund to your original payment: {amount}",
    "answer_credit": "Store credit: {amount}",
    "answer_credit_bonus": "Store credit: {amount} (including a {bonus} bonus)",
    "answer_no_money": "No money will be sent for this request.",
    "answer_send_back": "Please send back: {items}.",
    "answer_keep": "You don't need to send back {items}: please keep it.",
    "answer_keep_them": "You don't need to send back {items}: please keep them.",
    "answer_review_wait": (
        "Please don't send anything back yet: our team will tell you what to do once they have "
        "checked your return."
    ),
    "answer_nothing_left": "After fees there is nothing left to refund.",
    "fee_return_shipping": "Return shipping fee, taken off: {amount}",
    "fee_restocking": "Restocking fee, taken off: {amount}",
    "check_quote": "Check what I'll get",
    "change_choices": "Change my choices",
    "quote_heading": "Before you send it",
    "quote_approve": "If you send this request, it is approved straight away:",
    "quote_review": (
        "If you send this request, our team will check it before any money is sent. If it is "
        "approved:"
    ),
    "quote_decline": "We can't accept this return as it is. Nothing has been sent yet.",
    "answer_nothing_to_send": "You don't need to send anything back.",
    "answer_never_came": "As your parcel never arrived, there is nothing to send back.",
    "answer_explanation": "Why",
    "answer_reference": "Your reference: {ref}",
    "status_link": "Follow your money",
    "status_link_hint": "Keep this link: it shows where your money is, without logging in.",
    "status_heading": "Where your money is",
    "status_invalid_heading": "This link does not work",
    "status_invalid": (
        "This status link is not valid. Please use the link from your return confirmation."
    ),
    "status_decided_on": "Decided on {date}.",
    "status_received_on": "Received on {date}.",  # a review still open has no decision date
    "status_kind_refund": "Refund to your original payment",
    "status_kind_credit": "Store credit",
    "stage_waiting": (
        "Waiting for your parcel: it is sent as soon as your return is on its way back to us."
    ),
    "stage_expired": "Not sent: the return closed before your parcel was on its way.",
    "stage_requested": "Requested: we have asked for your money to be sent.",
    "stage_sent": "Sent: the payment provider is processing it.",
    "stage_received": (
        "Received by the payment provider. A card refund usually appears on your statement "
        "within 5 to 10 business days."
    ),
    "stage_received_credit": "Ready: your store credit is available.",
    "stage_failed": (
        "Failed: the payment provider could not complete it. Our team has been told and will "
        "put it right; you don't need to do anything."
    ),
    "credit_code": "Your store credit code: {code}",
    "status_review_open": "Our team is checking your return. We will let you know the answer.",
    "status_review_declined": "Our team looked at your return and could not accept it.",
    "status_review_approved": "Our team checked your return and approved it.",
    "status_customer_note": "A note from our team: {note}",
    "stage_dry_run": (
        "Test mode: nothing was sent to a payment provider and no money moved."
    ),
    "test_mode": "This shop is in test mode: no money moves.",
    "status_no_money": "No money is due for this request.",
    "return_heading": "How to send it back",
    "return_address": "Send your parcel to:",
    "return_by": "Please send it by {date}.",
    "return_label": "Print your prepaid return label",
    "return_qr": "No printer? Show this QR code at the drop-off point",
    "return_label_pending": (
        "Your prepaid label is on its way: this page shows it as soon as it is ready."
    ),
    "return_tracking": "Tracking: {carrier} {code}",
    "return_packing": "Packing: {notes}",
    "parcel_label_created": "Label ready: waiting for your parcel.",
    "parcel_instructions": "Waiting for your parcel.",
    "parcel_label_pending": "Waiting for your parcel.",
    "parcel_in_transit": "On its way back to us.",
    "parcel_out_for_delivery": "Out for delivery to us.",
    "parcel_available_for_pickup": "Waiting at the carrier for us to collect.",
    "parcel_delivered": "Delivered to us: we will check it shortly.",
    "parcel_received": "Received and checked by our team.",
    "parcel_failure": "The carrier reports a problem; our team will look into it.",
    "parcel_return_to_sender": "The carrier is sending it back to you; our team will be in touch.",
    "parcel_expired": "We did not see your parcel in time, so this return has closed.",
    "parcel_reopened": "Your parcel turned up late: our team is looking at it.",
    "feedback_heading": "How did we do?",
    "feedback_intro": "Choose a number: 1 is poor, 5 is excellent.",
    "feedback_rating": "{n} of 5",
    "feedback_comment": "Anything you would like to tell us? (optional)",
    "feedback_send": "Send",
    "feedback_thanks_heading": "Thank you",
    "feedback_saved": "We have your answer: {n} of 5.",
    "feedback_replaced": "We have changed your answer to {n} of 5.",
    "feedback_change": "You can change it until {date}.",
    "feedback_invalid_heading": "This link does not work",
    "feedback_invalid": "This feedback link is not valid. Nothing was recorded.",
    "feedback_expired": (
        "This feedback link has expired: we take answers for 14 days after our answer. "
        "Nothing was recorded."
    ),
    "feedback_pick": "Please choose a number from 1 to 5. Nothing was recorded.",
    "error_heading": "Something went wrong",
    "error_body": "Something went wrong on our side. Please try again in a moment.",
    "month_names": (
        "January February March April May June July August September October November December"
    ),
    "date_format": "{day} {month} {year}",
}


class Strings(dict[str, str]):
    """The strings with attribute access for templates (``t.submit``), plus date formatting."""

    def __getattr__(self, key: str) -> str:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def date(self, value: date | None) -> str:
        if value is None:
            return ""
        months = self["month_names"].split()
        return self["date_format"].format(day=value.day, month=months[value.month - 1],
                                          year=value.year)


def strings(overrides: Mapping[str, str] | None = None) -> Strings:
    merged = Strings(ENGLISH)
    if overrides:
        unknown = set(overrides) - set(ENGLISH)
        if unknown:
            raise ValueError(f"unknown returns-page strings: {', '.join(sorted(unknown))}")
        merged.update(overrides)
    return merged
