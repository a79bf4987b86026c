"""The withdrawal function's settings, its period and the statutory terms, without a database:
``[withdrawal]`` read from the TOML file, 14 days from delivery or the policy's longer window,
and the shop's policy raised to the law's floor (never lowered where it is more generous)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import policies
from policies.policy import Action, Anchor, RefundOn
from refunds_plugin.config import EU_EEA, Config, ConfigError, load_config
from refunds_plugin.domain.facts import (
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.intake.withdrawals import (
    Period,
    delivery_country,
    period,
    statutory,
    terms_for,
)
from refunds_plugin.saleor.order import shipping_address

DELIVERED = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "refunds.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(env={"REFUNDS_CONFIG_FILE": str(path)})


def test_withdrawal_is_off_unless_the_file_turns_it_on_and_covers_the_eu_and_eea(
    tmp_path: Path,
) -> None:
    default = load_config(env={})
    assert (default.withdrawal_enabled, default.withdrawal_countries) == (False, EU_EEA)
    assert len(EU_EEA) == 30 and {"DE", "GR", "NO", "IS", "LI"} <= set(EU_EEA)
    assert "GB" not in EU_EEA and "CH" not in EU_EEA
    on = _config(tmp_path, "[withdrawal]\nenabled = true\ncountries = [\"de\", \" at\"]\n")
    assert (on.withdrawal_enabled, on.withdrawal_countries) == (True, ("DE", "AT"))


@pytest.mark.parametrize(("text", "said"), [
    ("[withdrawal]\nenabled = \"yes\"\n", "withdrawal_enabled must be bool, got 'yes'"),
    ("[withdrawal]\ncountries = [\"Germany\"]\n",
     "[withdrawal] countries must be two-letter codes such as [\"DE\", \"AT\"]"),
    ("[withdrawal]\ndays = 30\n", "unknown setting 'withdrawal_days'"),
])
def test_a_bad_withdrawal_setting_names_itself(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, text)
    assert said in str(err.value)


def _facts(delivered: datetime | None = DELIVERED,
           paid: datetime | None = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)) -> OrderFacts:
    return OrderFacts(
        "1001", "USD", (OrderLine("l1", "MUG-1", "Mug", 2, 2500, ("final-sale",)),), 500, 5500,
        paid_at=paid, delivered_at=delivered,
        payments=(PaymentFacts("pi_1", "stripe", 5500),))


def _policy(extra: str = "") -> policies.Policy:
    return policies.load_policy_text(
        "window: {days: 10, start: payment}\n"
        "final_sale: {tags: [final-sale], guarantee: decline}\n"
        "fees: {restocking_percent: 15}\n"
        "shipping: {refund_with_last_item: false}\n"
        "resolution: {default: credit, allow: [credit, refund], refund_within_days: 5}\n"
        + extra, "meaner")


def test_the_period_is_fourteen_days_from_delivery_or_the_policys_longer_window() -> None:
    short = period(_policy(), _facts())
    assert short == Period(DELIVERED, 14)
    assert short.last_day == date(2026, 11, 19)  # the day of its last open moment
    assert short.open_at(datetime(2026, 11, 19, 14, 59, 59, tzinfo=UTC))  # 14 whole days
    assert not short.open_at(datetime(2026, 11, 19, 15, 0, tzinfo=UTC))
    long = period(policies.load_policy("preset:standard-30-day"), _facts())
    assert (long.days, long.ends) == (30, datetime(2026, 12, 5, 15, 0, tzinfo=UTC))
    assert period(_policy(), _facts(delivered=None)).starts == datetime(2026, 11, 1, 10, 0,
                                                                        tzinfo=UTC)
    unknown = period(_policy(), _facts(delivered=None, paid=None))
    assert (unknown.ends, unknown.open_at(DELIVERED)) == (None, True)


def test_the_statutory_terms_raise_a_mean_policy_to_the_law_and_keep_a_generous_one() -> None:
    mean = _policy("refund_on: inspected\n")
    law = statutory(mean)
    assert law.name == "meaner (EU withdrawal)"
    assert (law.window.days, law.window.start, law.window.outside) == (
        14, Anchor.DELIVERY, Action.REVIEW)
    assert law.final_sale.action is Action.REVIEW
    assert law.fees.restocking_percent == 0 and law.fees.return_shipping is None
    assert law.resolution.allow == (ResolutionKind.REFUND,)
    assert law.resolution.refund_within_days is None
    assert law.shipping.refund_with_last_item is True
    assert dict(law.refund_on)[ResolutionKind.REFUND] is RefundOn.FIRST_SCAN
    # with no prepaid label (this policy buys none) no scan can come: it waits for delivery
    assert law.refund_on_for(ResolutionKind.REFUND) is RefundOn.DELIVERED
    assert statutory(_policy()).refund_on_for(ResolutionKind.REFUND) is RefundOn.APPROVAL
    assert statutory(policies.load_policy("preset:standard-30-day")).window.days == 30
    assert terms_for(mean, law.name).name == law.name
    assert terms_for(mean, mean.name) is mean

    request = ReturnRequest("w-1", "1001", (ReturnLine("l1", 2, Reason.CHANGED_MIND),),
                            ResolutionKind.REFUND)
    when = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)  # 8 days after delivery, 11 after payment
    shop = policies.evaluate(mean, _facts(), request, when)
    assert shop.outcome.value == "decline"  # out of its window, and final sale
    decided = policies.evaluate(law, _facts(), request, when)
    assert (decided.outcome.value, decided.reason_code) == ("review", "final_sale_review")
    assert (decided.amount, decided.shipping_refund, decided.fees) == (5500, 500, ())
    assert [(r.kind, r.amount) for r in decided.resolutions] == [(ResolutionKind.REFUND, 5500)]


def test_the_delivery_country_is_read_from_the_storefront_or_saleor_address() -> None:
    saleor = shipping_address({"firstName": "Anna", "lastName": "Schmidt",
                               "streetAddress1": "Hauptstr. 1", "city": "KÖLN",
                               "postalCode": "50667", "country": {"code": "DE"}})
    assert delivery_country({"shipping_address": saleor}) == "DE"
    assert delivery_country({"shipping_address": {"country": "at "}}) == "AT"
    assert delivery_country({"shipping_address": {"country": ""}}) is None
    assert delivery_country({}) is None
    assert delivery_country({"shipping_address": shipping_address(None)}) is None
