"""Policy files: presets load, each kind of mistake names the field and what was expected, and
the content hash lets finance tie every decision to the exact file."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest

from policies import PolicyError, list_presets, load_policy, load_policy_text
from policies.policy import Action, Anchor

GOOD = 'currency: USD\nwindow: {days: 30}\nlimits: {auto_approve_per_request: "250.00"}\n'


def test_the_four_presets_are_shipped_and_load():
    assert list_presets() == ["credit-first", "default", "no-hassle", "standard-30-day"]
    assert [load_policy(f"preset:{n}").name for n in list_presets()] == list_presets()


def test_the_default_preset_refunds_within_365_days_of_payment_and_reviews_the_rest():
    pol = load_policy("preset:default")
    assert (pol.window.days, pol.window.start, pol.window.outside) == (365, Anchor.PAYMENT,
                                                                        Action.REVIEW)
    assert (pol.fees.restocking_percent, pol.fees.return_shipping, pol.abuse.enabled) == (
        Decimal(0), None, False)


def test_a_file_is_named_by_its_stem_and_hashed_by_its_exact_bytes(tmp_path):
    path = tmp_path / "my-shop.yaml"
    path.write_bytes(GOOD.encode())
    pol = load_policy(str(path))
    assert (pol.name, pol.content_hash) == ("my-shop", hashlib.sha256(GOOD.encode()).hexdigest())
    assert pol.limits.per_request is not None and pol.limits.per_request.get("USD") == 25000


def test_a_name_in_the_file_wins_over_the_file_name():
    assert load_policy_text("name: spring\n" + GOOD, "hint").name == "spring"


def test_the_abuse_window_and_promise_are_exposed_for_the_service():
    pol = load_policy("preset:standard-30-day")
    assert (pol.abuse_window_days, pol.promise_hours) == (90, 72)
    assert pol.trouble.duplicate_charge.window_hours == 72
    assert pol.trouble.failed_payment.follow_up_after_hours == 24


def test_describe_says_the_rules_in_plain_words():
    lines = load_policy("preset:standard-30-day").describe()
    assert "Items tagged final-sale, non-returnable are final sale: declined unless the " \
           "problem is ours." in lines
    assert "Money is on its way within 72 hours of approval." in lines


def test_describe_says_a_single_resolution_is_not_the_customers_choice():
    default = load_policy("preset:default").describe()
    no_hassle = load_policy("preset:no-hassle").describe()

    assert [x for x in default if x.startswith("Resolution:")] == [
        "Resolution: always refund, whatever the customer prefers."]
    assert [x for x in no_hassle if x.startswith("Resolution:")] == [
        "Resolution: refund or credit as the customer prefers (default refund)."]


@pytest.mark.parametrize(("start", "fallback"), [
    ("payment", "the delivery date, else the fulfilment date"),
    ("delivery", "the fulfilment date, else the payment date"),
    ("fulfilment", "the delivery date, else the payment date"),
])
def test_describe_names_the_dates_a_window_falls_back_to(start: str, fallback: str) -> None:
    lines = load_policy_text(f"window: {{days: 30, start: {start}}}\n", "t.yaml").describe()

    assert f"Returns are accepted within 30 days of {start} (if that date is unknown: " \
           f"{fallback}); later requests are declined." in lines


MISTAKES = [
    ('an_unknown_key',
     'window: {days: 30}\nrefund_evrything: true\n',
     'refund_evrything',
     'expected one of name, title, currency, promise_hours, window, final_sale, reasons, '
     'limits, expected_years, tiers, abuse, resolution, fees, shipping, trouble, '
     "return_shipping, refund_on, exchange, found unknown setting 'refund_evrything' (did you "
     "mean 'refund_on'?)"),
    ('a_refund_on_that_is_not_a_moment',
     'window: {days: 30}\nrefund_on: shipped\n',
     'refund_on',
     "expected one of approval, first_scan, delivered, inspected, found 'shipped'"),
    ('a_free_for_naming_no_tier',
     'window: {days: 30}\nreturn_shipping: {paid_by: customer, fee: {USD: "5.00"}, '
     'free_for: [merchant_fault, gold]}\n',
     'return_shipping.free_for[1]',
     "expected one of merchant_fault, changed_mind, too_small, too_large, other, found 'gold'"),
    ('a_customer_paid_label_without_a_fee',
     'window: {days: 30}\nreturn_shipping: {paid_by: customer}\n',
     'return_shipping.fee',
     'expected the fee the customer pays for the label (such as fee: "5.00"), found none'),
    ('a_return_by_of_zero_days',
     'window: {days: 30}\nreturn_shipping: {return_by_days: 0}\n',
     'return_shipping.return_by_days',
     'expected a whole number of 1 or more, found 0'),
    ('a_reminder_days_before_that_is_negative',
     'window: {days: 30}\nreturn_shipping: {remind_days_before: -1}\n',
     'return_shipping.remind_days_before',
     'expected a whole number of 0 or more, found -1'),
    ('a_reminder_days_before_that_is_not_a_number',
     'window: {days: 30}\nreturn_shipping: {remind_days_before: "5"}\n',
     'return_shipping.remind_days_before',
     'expected a whole number, found \'5\''),
    ('a_missing_window',
     'currency: USD\n',
     'window',
     'expected this setting (it is required), found none'),
    ('days_that_are_not_a_number',
     'window: {days: thirty}\n',
     'window.days',
     'expected a whole number of days (0 or more) or "unlimited", found \'thirty\''),
    ('negative_days_in_an_override',
     'window: {days: 30, overrides: [{tag: a, days: -1}]}\n',
     'window.overrides[0].days',
     'expected a whole number of days (0 or more) or "unlimited", found -1'),
    ('an_override_with_two_matchers',
     'window: {days: 30, overrides: [{tag: a, sku: b, days: 1}]}\n',
     'window.overrides[0]',
     'expected exactly one of sku, tag or collection, found sku and tag'),
    ('an_unknown_start_date',
     'window: {days: 30, start: birthday}\n',
     'window.start',
     "expected one of delivery, fulfilment, payment, found 'birthday'"),
    ('money_written_as_a_yaml_number',
     'currency: USD\nwindow: {days: 30}\nlimits: {auto_approve_per_request: 250.00}\n',
     'limits.auto_approve_per_request',
     'expected a quoted decimal string such as "25.00" or a mapping like {USD: "25.00"}, found '
     '250.0'),
    ('money_with_more_decimals_than_the_currency',
     'currency: JPY\nwindow: {days: 30}\nlimits: {auto_approve_per_request: "250.5"}\n',
     'limits.auto_approve_per_request',
     'expected a quoted decimal string such as "25.00" or a mapping like {USD: "25.00"}, found '
     "'250.5' (250.5 has more decimals than JPY allows (0))"),
    ('money_without_a_currency',
     'window: {days: 30}\nfees: {return_shipping: "5.00"}\n',
     'fees.return_shipping',
     'expected a mapping like {USD: "5.00"}, or a top-level `currency` for a plain amount, '
     "found '5.00' and no top-level `currency`"),
    ('an_unknown_currency_in_a_mapping',
     'window: {days: 30}\nfees: {return_shipping: {USX: "5.00"}}\n',
     'fees.return_shipping',
     "expected an ISO 4217 currency code such as USD, found unknown currency 'USX'"),
    ('an_unknown_top_level_currency',
     'currency: dollars\nwindow: {days: 30}\n',
     'currency',
     "expected an ISO 4217 code such as USD, found 'dollars'"),
    ('a_percentage_over_100',
     'window: {days: 30}\nfees: {restocking_percent: 150}\n',
     'fees.restocking_percent',
     'expected a percentage between 0 and 100, found 150'),
    ('a_float_percentage',
     'window: {days: 30}\nfees: {restocking_percent: 12.5}\n',
     'fees.restocking_percent',
     'expected a percentage such as 10 or "12.5", found 12.5'),
    ('an_unknown_reason_action',
     'window: {days: 30}\nreasons: {changed_mind: maybe}\n',
     'reasons.changed_mind',
     "expected one of accept, credit, review, decline, found 'maybe'"),
    ('a_reason_the_language_does_not_know',
     'window: {days: 30}\nreasons: {bored: accept}\n',
     'reasons.bored',
     "expected one of changed_mind, too_small, too_large, other, found unknown setting 'bored'"),
    ('a_default_resolution_that_is_not_allowed',
     'window: {days: 30}\nresolution: {default: credit, allow: [refund]}\n',
     'resolution.default',
     "expected one of `allow` (refund), found 'credit'"),
    ('a_fee_waiver_for_a_merchant_fault_reason',
     'window: {days: 30}\nfees: {waive_for_reasons: [damaged]}\n',
     'fees.waive_for_reasons[0]',
     "expected one of changed_mind, too_small, too_large, other, found 'damaged'"),
    ('a_tier_without_a_name',
     'window: {days: 30}\ntiers: [{min_orders: 3}]\n',
     'tiers[0].name',
     'expected this setting (it is required), found none'),
    ('a_string_where_a_count_belongs',
     'window: {days: 30}\nabuse: {max_refunds: five}\n',
     'abuse.max_refunds',
     "expected a whole number, found 'five'"),
    ('a_trouble_detector_with_an_unknown_resolution',
     'window: {days: 30}\ntrouble: {overpayment: {resolution: cash}}\n',
     'trouble.overpayment.resolution',
     "expected one of refund, credit, found 'cash'"),
    ('broken_yaml',
     'window: {days: 30\n',
     '(file)',
     "expected valid YAML, found a syntax error at line 2, column 1: expected ',' or '}', but "
     "got '<stream end>'"),
    ('a_list_instead_of_a_mapping',
     '- window\n',
     '(file)',
     'expected a mapping of policy settings such as window:, found a list'),
    # a setting written twice (a pasted block): YAML keeps the last silently, so the file
    # would run on a window the merchant may believe they replaced
    ('a_setting_written_twice',
     'window: {days: 30}\nfees: {restocking_percent: 10}\nwindow: {days: 60}\n',
     'window',
     'expected each setting once, found it again at line 3 (first at line 1)'),
    ('a_nested_setting_written_twice',
     'window:\n  days: 30\n  start: delivery\n  days: 14\n',
     'window.days',
     'expected each setting once, found it again at line 4 (first at line 2)'),
    # 0 is a threshold a file may hold ("0.00": no keep-the-item), so "positive" is not what
    # is expected
    ('a_negative_amount',
     'currency: USD\nwindow: {days: 30}\nfees: {return_shipping: "-5.00"}\n',
     'fees.return_shipping',
     "expected an amount of 0 or more such as \"25.00\", found '-5.00'"),
    ('a_negative_amount_in_yen',
     'window: {days: 30}\nfees: {return_shipping: {JPY: "-890"}}\n',
     'fees.return_shipping',
     "expected an amount of 0 or more such as \"25\", found '-890'"),
    # contradictory: a refund period where no refund is offered would have `policy check` say
    # "Refunds to the original payment within 14 days" of a shop that gives credit only
    ('a_refund_period_without_refunds',
     'window: {days: 30}\n'
     'resolution: {default: credit, allow: [credit], refund_within_days: 14}\n',
     'resolution.refund_within_days',
     'expected refund in resolution.allow for a refund period (it says when refunds end), '
     'found allow: credit'),
    # marshmallow's own words, said in the one voice, with a did-you-mean
    ('an_unknown_exchange_reason',
     'window: {days: 30}\nresolution: {allow: [refund, exchange]}\n'
     'exchange: {reasons: [too_smal]}\n',
     'exchange.reasons[0]',
     "expected one of damaged, defective, wrong_item, not_as_described, not_received, "
     "changed_mind, too_small, too_large, other, found 'too_smal' (did you mean 'too_small'?)"),
    ('a_number_as_a_setting_name',
     'window: {days: 30}\nreasons: {2: accept}\n',
     'reasons.2',
     'expected one of changed_mind, too_small, too_large, other, found unknown setting 2'),
    # YAML reads a bare no as false: the choices are named, not "text"
    ('a_yes_no_word_for_a_reason',
     'window: {days: 30}\nreasons: {changed_mind: no}\n',
     'reasons.changed_mind',
     'expected one of accept, credit, review, decline, found False'),
]


@pytest.mark.parametrize(("text", "path", "expected"), [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_each_mistake_names_the_file_the_field_what_is_allowed_and_what_was_found(
    text, path, expected
):
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "shop.yaml")
    assert caught.value.problems == ((path, expected),)
    assert str(caught.value) == f"invalid policy shop.yaml: {path}: {expected}"
    assert expected.startswith("expected ") and ", found " in expected  # one voice


def test_a_misspelt_waiver_of_a_dearer_exchange_is_named_in_the_one_voice():
    text = ('window: {days: 30}\nresolution: {allow: [refund, exchange]}\n'
            'exchange: {price_difference: {higher: {waive_upto: {USD: "10.00"}}}}\n')
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "shop.yaml")
    assert caught.value.problems == (
        ("exchange.price_difference.higher.waive_up_to",
         "expected this setting (it is required), found none"),
        ("exchange.price_difference.higher.waive_upto",
         "expected one of waive_up_to, found unknown setting 'waive_upto' (did you mean "
         "'waive_up_to'?)"),
    )


def test_a_misspelt_setting_gets_a_did_you_mean():
    with pytest.raises(PolicyError) as caught:
        load_policy_text("window: {days: 30, outsid: review}\nresoluton: {}\n", "shop.yaml")
    assert caught.value.problems == (
        ("window.outsid", "expected one of days, start, outside, overrides, found unknown "
                          "setting 'outsid' (did you mean 'outside'?)"),
        ("resoluton", "expected one of name, title, currency, promise_hours, window, final_sale, "
                      "reasons, limits, expected_years, tiers, abuse, resolution, fees, "
                      "shipping, trouble, return_shipping, refund_on, exchange, found unknown "
                      "setting 'resoluton' (did you mean 'resolution'?)"),
    )


def test_every_mistake_in_a_file_is_reported_at_once():
    text = "window: {days: x}\nfees: {restocking_percent: 200}\nbogus: 1\n"
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "shop.yaml")
    assert [p for p, _ in caught.value.problems] == ["window.days", "fees.restocking_percent",
                                                     "bogus"]


def test_a_missing_file_is_an_error_naming_the_path(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert caught.value.problems == (("(file)", "expected a readable policy file or "
                                                "preset:NAME, found no such file or directory"),)
    assert caught.value.source == missing


def test_an_unknown_preset_lists_the_real_ones():
    with pytest.raises(PolicyError) as caught:
        load_policy("preset:lenient")
    assert caught.value.problems == (("preset", "expected one of credit-first, default, "
                                                "no-hassle, standard-30-day, found 'lenient'"),)
    with pytest.raises(PolicyError) as caught:
        load_policy("preset:no-hasle")
    assert caught.value.problems == (("preset", "expected one of credit-first, default, "
                                                "no-hassle, standard-30-day, found 'no-hasle' "
                                                "(did you mean 'no-hassle'?)"),)


def test_the_annotated_example_in_the_docs_is_a_valid_policy():
    doc = (Path(__file__).parents[3] / "docs" / "policy.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    pol = load_policy_text(example, "docs")
    assert (pol.name, pol.window.days, pol.resolution.credit_bonus_percent) == (
        "spring-2026", 45, Decimal(5))


# a setting the docs name in passing (`outside: credit`) as the file would hold it
_SETTING_IN_A_FILE = {
    "outside": "window: {{days: 30, outside: {}}}\n",
    "ship_on": "window: {{days: 30}}\nresolution: {{allow: [refund, exchange]}}\n"
               "exchange: {{ship_on: {}}}\n",
    "paid_by": 'currency: USD\nwindow: {{days: 30}}\n'
               'return_shipping: {{paid_by: {}, fee: "5.00"}}\n',
    "return_shipping.label": "window: {{days: 30}}\nreturn_shipping: {{label: {}}}\n",
}


def test_every_value_the_docs_give_a_setting_in_passing_is_one_a_file_may_hold():
    docs = Path(__file__).parents[3] / "docs"
    named = {(key, value) for page in docs.glob("*.md")
             for key, value in re.findall(r"`([a-z_.]+): ([a-z_]+)`", page.read_text("utf-8"))
             if key in _SETTING_IN_A_FILE}
    assert ("outside", "credit") in named  # the docs are read
    refused = []
    for key, value in sorted(named):
        try:
            load_policy_text(_SETTING_IN_A_FILE[key].format(value), "docs")
        except PolicyError as exc:
            refused.append(f"`{key}: {value}`: {exc}")
    assert refused == []
