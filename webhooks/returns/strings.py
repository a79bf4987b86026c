"""Every sentence the returns page shows a customer, by key, in English: the message ids of the
catalogues (``refunds_plugin/language/translations``), read in the reader's language.

Templates say ``t.submit`` or ``t['reason_' ~ code]``; placeholders in ``{braces}`` are filled with
``.format()`` after translation, so a translation keeps them. ``N_`` only marks a sentence for
``pybabel extract`` (``babel.cfg``); Flask-Babel translates it when it is read, in the language
``webhooks.language`` chose for this request. The decision's explanation itself comes from the
policy (``policies/explanation.py``), said again in the reader's language.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import get_locale, gettext, ngettext

from refunds_plugin.language import catalogue


def N_(message: str) -> str:
    return message


ENGLISH: dict[str, str] = {
    "skip_to_content": N_("Skip to the main content"),
    "language_choice": N_("Language"),  # names the list of languages to read the pages in
    "page_title": N_("Returns"),
    "shop_default": N_("Our shop"),  # the header's name while REFUNDS_SHOP_NAME is unset
    "lookup_heading": N_("Start a return"),
    "lookup_intro": N_("Enter your order number and the email address you used when you ordered."),
    "order_number": N_("Order number"),
    "order_number_hint": N_("You will find it in your order confirmation email."),
    "email": N_("Email address"),
    "find_order": N_("Find my order"),
    "policy_heading": N_("Our return policy"),  # /returns/policy, public
    "policy_link": N_("Read our return policy"),
    "not_found": N_(
        "We could not find an order with that number and email address. Please check both "
        "and try again."
    ),
    "missing_fields": N_("Please enter both your order number and your email address."),
    # a NUL or another control character typed or pasted into a field: nothing can keep it
    "unreadable_text": N_(
        "What you entered contains an invisible control character that we cannot accept. "
        "Please remove it (type the text again rather than pasting it) and try again."
    ),
    "too_many_heading": N_("Please wait before trying again"),  # then: too_many_tries
    "form_expired": N_("This form has expired. Please start your return again."),
    "form_expired_heading": N_("Please start again"),
    "start_again": N_("Start again"),
    "order_heading": N_("Order {order}"),
    "order_intro": N_("Choose what you would like to return."),
    "item_price": N_("{amount} each"),
    "quantity": N_("How many to return"),
    "quantity_none": N_("None"),
    "reason": N_("Reason"),
    "reason_choose": N_("Choose a reason"),
    "reason_damaged": N_("It arrived damaged"),
    "reason_defective": N_("It does not work"),
    "reason_wrong_item": N_("I received the wrong item"),
    "reason_not_as_described": N_("It is not as described"),
    "reason_not_received": N_("It never arrived"),
    "reason_changed_mind": N_("I changed my mind"),
    "reason_too_small": N_("It is too small"),
    "reason_too_large": N_("It is too large"),
    "reason_other": N_("Another reason"),
    "returnable_until": N_("You can return this until {date}."),
    "returnable_forever": N_("You can return this at any time."),
    "returnable_no_date": N_("We will check the dates for this item."),
    "refund_until": N_("A refund to your original payment is available until {date}."),
    "refund_ended": N_("A refund to your original payment was available until {date}; for "
                       "this item you now get store credit."),
    # a unit is taken once a return is asked for, long before it is back: say that, not "returned"
    "already_returned": N_("A return has already been requested for this item."),
    "partly_requested": N_(
        "You have already asked to return {asked} of the {ordered} you ordered."),
    "window_closed": N_("The return window for this item ended on {date}."),
    "window_closed_credit": N_(
        "The return window for this item ended on {date}. You can still send it back for store "
        "credit."
    ),
    "window_closed_review": N_(
        "The return window for this item ended on {date}. You can still ask: our team will "
        "look at it."
    ),
    "final_sale": N_(
        "Final sale: this item can be returned only if something went wrong on our side (it "
        "arrived damaged, does not work, is the wrong item, is not as described, or never "
        "arrived)."
    ),
    "final_sale_until": N_("For those, you can return it until {date}."),
    "all_returned": N_("A return has been requested for everything in this order."),
    "earlier_returns": N_("Your returns for this order"),
    # beside "You have already asked to return 1 of the 2": a link to the list of them below
    "earlier_see": N_("See where your returns are"),
    "earlier_return": N_("Return of {items} requested on {date}: {state}."),
    "earlier_approved": N_("approved"),
    "earlier_checking": N_("our team is checking it"),
    "earlier_declined": N_("not accepted"),
    "earlier_unreadable": N_(
        "A return requested on {date} cannot be shown right now; our team has been told."),
    "comment": N_("Anything you would like to tell us? (optional)"),
    "resolution": N_("How would you like your money back?"),
    "exchange_for": N_("Exchange for another size/colour"),
    "exchange_none": N_("No, give me my money back"),
    "exchange_option": N_("{name} ({amount})"),
    "exchange_sold_out": N_("{name}: sold out"),
    "pick_exchange": N_("{item}: that size or colour is no longer offered; please choose again."),
    "exchange_heading": N_("Your exchange"),
    "exchange_item": N_("{qty} × {name}"),
    "exchange_pay": N_("Pay the difference of {amount} to go ahead with your exchange"),
    "exchange_status_awaiting_payment": N_("Waiting for your payment of the difference."),
    # the Checkout Session is not made yet (Stripe failed at once; the exchange worker retries,
    # then mails the link: ``exchanges.worker.open_checkout``)
    "exchange_pay_pending": N_("We are preparing the link to pay the difference of {amount}: "
                               "we will email it to you, and it will be on this page."),
    "exchange_status_waiting": N_("Your new item ships once your return is on its way to us."),
    # waiting for ``delivered`` (also ``first_scan`` where no label was bought: no carrier scan
    # can come, the warehouse's receipt ships it) or for ``inspected``
    "exchange_status_waiting_delivered": N_("Your new item ships once your return reaches us."),
    "exchange_status_waiting_inspected": N_(
        "Your new item ships once we have received and checked your return."),
    "exchange_status_ready": N_("Your new item is ready to ship."),
    # "shipped" is the order for the new item placed (Saleor's replacement completed, or the
    # storefront told through exchange.ready_to_ship), not a parcel seen moving
    "exchange_status_shipped": N_(
        "We have placed the order for your new item; it will be sent to you."),
    "exchange_status_fallen_back": N_(
        "The difference was not paid in time, so your return became a refund or store credit "
        "instead."
    ),
    "exchange_status_failed": N_("We could not ship your new item yet; our team will contact you."),
    "exchange_status_out_of_stock": N_(
        "Your new item went out of stock before we could send it, so your exchange became a "
        "refund or store credit instead. Nothing else will be sent to you for this exchange."
    ),
    "resolution_refund": N_("Refund to my original payment"),
    # every line left is credit for the customer's own reasons: only our faults are refunded
    "resolution_refund_faults": N_("Refund to my original payment (only for an item that is "
                                   "damaged, faulty, wrong or not as described, or never "
                                   "arrived)"),
    "resolution_credit": N_("Store credit"),
    "resolution_credit_bonus": N_("Store credit, with a {percent}% bonus"),
    "resolution_only_refund": N_("Your money goes back to your original payment."),
    "resolution_only_credit": N_("You get store credit."),
    # a free order's form: no refund or credit to choose (the policy's own sentence, translated)
    "order_free": N_("This order was free, so there is no money to return."),
    "submit": N_("Send my return request"),
    "pick_something": N_("Please choose at least one item to return."),
    "pick_reason": N_("Please choose a reason for {item}."),
    "pick_quantity": N_("{item}: choose how many to return."),
    "unknown_line": N_("Your order has no item {line}. Please start your return again."),
    "line_twice": N_("{item} is listed twice. Please choose it once."),
    "line_returned": N_("A return has already been requested for {item}."),
    "errors_heading": N_("There is a problem"),
    "answer_heading_approve": N_("Your return is approved"),
    # approved, with a line the policy refused (reason code ``partially_approved``)
    "answer_heading_partly": N_("Your return is partly approved"),
    "refused_heading": N_("Not included in this return"),
    "refused_line": N_("{item}: {why}"),  # the item, and the policy's sentence saying why
    "answer_heading_review": N_("We need a quick check"),
    # before the amounts of a return our team has yet to check: they are not granted yet
    "answer_review_lead": N_("If our team approves it, you get:"),
    "answer_heading_decline": N_("We can't accept this return"),
    "answer_refund": N_("Refund to your original payment: {amount}"),
    "answer_credit": N_("Store credit: {amount}"),
    "answer_credit_bonus": N_("Store credit: {amount} (including a bonus of {bonus})"),
    "answer_no_money": N_("No money will be sent for this request."),
    "answer_send_back": N_("Please send back: {items}."),
    # the explanation's own sentences (``policies.explanation``), so page and paragraph agree
    "answer_keep": N_("You don't need to send back {items}; please keep it."),
    "answer_keep_them": N_("You don't need to send back {items}; please keep them."),
    "answer_review_wait": N_(
        "Please don't send anything back yet: our team will tell you what to do once they have "
        "checked your return."
    ),
    "answer_nothing_left": N_("After fees there is nothing left to refund."),
    "answer_nothing_due": N_("No money is due for this request."),  # nothing owed: no fees
    "answer_exchange": N_("In exchange you get: {items}"),
    "answer_exchange_charge": N_("You pay the difference: {amount}"),
    "fee_return_shipping": N_("Return shipping fee, taken off: {amount}"),
    "fee_restocking": N_("Restocking fee, taken off: {amount}"),
    "check_quote": N_("Check what I'll get"),
    "change_choices": N_("Change my choices"),
    "quote_heading": N_("Before you send it"),
    "quote_approve": N_("If you send this request, it is approved straight away:"),
    "quote_review": N_(
        "If you send this request, our team will check it before any money is sent. If it is "
        "approved:"
    ),
    "quote_decline": N_("We can't accept this return as it is. Nothing has been sent yet."),
    "answer_nothing_to_send": N_("You don't need to send anything back."),
    "answer_never_came": N_("As your parcel never arrived, there is nothing to send back."),
    "answer_explanation": N_("Why"),
    "answer_reference": N_("Your reference: {ref}"),
    "status_link": N_("Follow your money"),
    "status_link_hint": N_("Keep this link: it shows where your money is, without logging in."),
    "status_heading": N_("Where your money is"),
    # a return that moves no money (an even exchange, a decline): the same links and page,
    # about the return
    "status_link_return": N_("Follow your return"),
    "status_link_return_hint": N_(
        "Keep this link: it shows where your return is, without logging in."),
    "status_heading_return": N_("Where your return is"),
    "status_invalid_heading": N_("This link does not work"),
    "status_invalid": N_(
        "This status link is not valid. Please use the link from your return confirmation."
    ),
    # the return's stored rows cannot be read (a person must repair them): said, never a crash
    "status_unreadable_heading": N_("We cannot show your return right now"),
    "status_unreadable": N_(
        "Something went wrong on our side while reading your return. Our team has been told "
        "and will contact you; you don't need to do anything."
    ),
    # some of the return's stored record cannot be read: the page shows the rest
    "status_part_unreadable": N_(
        "Part of your return's record cannot be read right now, so this page shows only what "
        "can be. Our team has been told and will look at it; you don't need to do anything."
    ),
    "status_decided_on": N_("Decided on {date}."),
    "status_received_on": N_("Received on {date}."),  # a review still open has no decision date
    "status_kind_refund": N_("Refund to your original payment"),
    "status_kind_credit": N_("Store credit"),
    # one of the two above and its amount, as the reader writes "name: value"
    "status_kind_amount": N_("{kind}: {amount}"),
    # held money, by what it waits for (``MoneyStatus.waits_for``): first_scan, delivered
    # (also first_scan where no label was bought: no carrier scan can come), inspected
    "stage_waiting": N_(
        "Waiting for your parcel: it is sent as soon as your return is on its way back to us."
    ),
    "stage_waiting_delivered": N_(
        "Waiting for your parcel: it is sent as soon as your return reaches us."),
    "stage_waiting_inspected": N_(
        "Waiting for your parcel: it is sent as soon as we have received and checked your "
        "return."),
    "stage_expired": N_("Not sent: the return closed before your parcel was on its way."),
    "stage_requested": N_("Requested: we have asked for your money to be sent."),
    "stage_sent": N_("Sent: the payment provider is processing it."),
    "stage_received": N_(
        "Received by the payment provider. A card refund usually appears on your statement "
        "within 5 to 10 business days."
    ),
    "stage_received_credit": N_("Ready: your store credit is available."),
    # Stripe with a test key took the refund: nothing reaches a card statement
    "stage_received_test": N_(
        "Received by the payment provider in test mode: no real money moved."),
    "stage_failed": N_(
        "Failed: the payment provider could not complete it. Our team has been told and will "
        "put it right; you don't need to do anything."
    ),
    "credit_code": N_("Your store credit code: {code}"),
    "status_review_open": N_("Our team is checking your return. We will let you know the answer."),
    "status_review_declined": N_("Our team looked at your return and could not accept it."),
    "status_review_approved": N_("Our team checked your return and approved it."),
    # approved, then back with a person (a payout that failed, a parcel that did not match):
    # one state, not "approved" and "we will let you know the answer" side by side
    "status_review_again": N_(
        "Your return is approved, and our team is now looking at it again. We will let you "
        "know what happens next."),
    "status_customer_note": N_("A note from our team: {note}"),
    "stage_dry_run": N_(
        "Test mode: nothing was sent to a payment provider and no money moved."
    ),
    "test_mode": N_("This shop is in test mode: no money moves."),
    "status_no_money": N_("No money is due for this request."),
    "return_heading": N_("How to send it back"),
    "parcel_heading": N_("Your parcel"),  # the heading once it is sent: where it is now
    "return_address": N_("Send your parcel to:"),
    # no return address is configured: nobody here can say where to, so we say who will
    "return_address_later": N_("The shop will tell you where to send it."),
    "return_by": N_("Please send it by {date}."),
    "return_label": N_("Print your prepaid return label"),
    "return_qr": N_("No printer? Show this QR code at the drop-off point"),
    "return_label_pending": N_(
        "Your prepaid label is on its way: this page shows it as soon as it is ready."
    ),
    # the label was promised but none could be had (after every try, or no carrier's rate):
    # a person is told (label_failed / label_refused) and the parcel can still be sent
    "return_label_failed": N_(
        "We could not get a prepaid label for your parcel. Our team will be in touch; you can "
        "also send it yourself to the address shown here."
    ),
    "return_tracking": N_("Tracking: {carrier} {code}"),
    "return_packing": N_("Packing: {notes}"),
    "parcel_label_created": N_("Label ready: waiting for your parcel."),
    "parcel_instructions": N_("Waiting for your parcel."),
    "parcel_label_pending": N_("Waiting for your parcel."),
    "parcel_in_transit": N_("On its way back to us."),
    "parcel_out_for_delivery": N_("Out for delivery to us."),
    "parcel_available_for_pickup": N_("Waiting at the carrier for us to collect."),
    "parcel_delivered": N_("Delivered to us: we will check it shortly."),
    "parcel_received": N_("Received and checked by our team."),
    "parcel_failure": N_("The carrier reports a problem; our team will look into it."),
    "parcel_return_to_sender": N_(
        "The carrier is sending it back to you; our team will be in touch."),
    # before the parcel is sent these leave it to send: the page keeps the address and date
    "parcel_cancelled": N_(
        "The carrier cancelled your return label, so it can no longer be used. Please contact "
        "us for a new one before you send your parcel."),
    "parcel_error": N_(
        "The carrier reported a problem tracking your parcel. If you have not sent it yet, "
        "please send it as shown here; if you have, please keep your proof of postage."),
    "parcel_expired": N_("We did not see your parcel in time, so this return has closed."),
    "parcel_reopened": N_("Your parcel turned up late: our team is looking at it."),
    "feedback_heading": N_("How did we do?"),
    "feedback_intro": N_("Choose a number: 1 is poor, 5 is excellent."),
    "feedback_rating": N_("{n} of 5"),
    "feedback_comment": N_("Anything you would like to tell us? (optional)"),
    "feedback_send": N_("Send"),
    "feedback_thanks_heading": N_("Thank you"),
    "feedback_saved": N_("We have your answer: {n} of 5."),
    "feedback_replaced": N_("We have changed your answer to {n} of 5."),
    "feedback_comment_saved": N_("We have your comment too. Thank you for telling us."),
    "feedback_change": N_("You can change it until {date}."),
    "feedback_answer_until": N_("You can answer until {date}."),  # nothing answered yet
    "feedback_invalid_heading": N_("This link does not work"),
    "feedback_invalid": N_("This feedback link is not valid. Nothing was recorded."),
    "feedback_expired": N_(
        "This feedback link has expired: we take answers for 14 days after our answer. "
        "Nothing was recorded."
    ),
    "feedback_pick": N_("Please choose a number from 1 to 5. Nothing was recorded."),
    "feedback_pending": N_(
        "Our team is still checking your return: you can tell us how we did once we have "
        "answered. Nothing was recorded."
    ),
    "error_heading": N_("Something went wrong"),
    "error_body": N_("Something went wrong on our side. Please try again in a moment."),
    "missing_heading": N_("Page not found"),
    "missing_body": N_("There is no page at this address. To return something, start again "
                       "from the returns page."),
}


class Strings:
    """The page's sentences in the request's language: ``t.submit``, ``t["reason_other"]``,
    ``t.lang`` (the ``<html lang>``), ``t.date(value)`` (a date as the reader writes it),
    ``t.deadline(moment)`` (a deadline, with its time when it ends partway through a day),
    ``t.number(figure)`` (``12,5`` in German) and
    the sentences whose words follow a count (``t.too_many_units(…)``, ``t.units_price(…)``,
    ``t.too_many_tries(minutes)``)."""

    def __getitem__(self, key: str) -> str:
        return gettext(ENGLISH[key])

    def __getattr__(self, key: str) -> str:
        try:
            return gettext(ENGLISH[key])
        except KeyError:
            raise AttributeError(key) from None

    @property
    def lang(self) -> str:
        return str(get_locale() or "en")

    def too_many_units(self, item: str, left: int, qty: int) -> str:
        """More units asked back than are left: the item's name leads, as the shop wrote it
        (a name cannot be put in the plural: "Wool socks", "Jeans"), the count's words follow
        it ("only 1", "at most 2")."""
        return ngettext("%(item)s: you can return only %(left)s, not %(qty)s.",
                        "%(item)s: you can return at most %(left)s, not %(qty)s.",
                        left, item=item, left=left, qty=qty)

    def too_many_tries(self, minutes: int) -> str:
        """Too many look-ups: how long to wait, as the answer's ``Retry-After`` says."""
        return ngettext("Too many attempts. For your security, please wait %(num)s minute "
                        "before trying again.",
                        "Too many attempts. For your security, please wait %(num)s minutes "
                        "before trying again.", minutes)

    def units_price(self, amount: str, units: int) -> str:
        """What ``units`` units are worth together, where one unit's share would be rounded
        (a discount of 10.00 over 3 units: "10.00 for 3", not "3.33 each")."""
        return ngettext("%(amount)s for %(num)s", "%(amount)s for %(num)s", units,
                        amount=amount)  # ``num`` is filled by flask-babel

    def date(self, value: date | None) -> str:
        return catalogue.day(value, self.lang)

    def number(self, value: str) -> str:
        """A figure as the reader writes it: a 12.5% bonus is "12,5 %" in German."""
        return catalogue.number(value, self.lang)

    def deadline(self, value: datetime | None) -> str:
        """A deadline's last open moment: its day, and its minute when it ends within the day."""
        return catalogue.deadline(value, self.lang)


def strings() -> Strings:
    return Strings()
