"""The published return policy (``/returns/policy``): open to anyone without a look-up or a
log-in, the shop's running policy in the customer's words and language, and schema.org's
``MerchantReturnPolicy`` in the page's head and at ``/returns/policy.json``, exact for each
policy: its window, its fees (money as decimal strings in the currency's own decimals) and
the refund types it offers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.reopened import DOCK
from tests.fakes.returns_shop import ReturnsShop, with_stripe

S = "https://schema.org/"
LINK = "http://localhost/returns/policy"

# a shop charging return shipping and restocking in three currencies of 2, 0 and 3 decimals,
# offering credit first, refunds and exchanges
FEES_POLICY = """\
name: fees-and-credit
window: {days: 30, start: delivery, outside: decline}
resolution:
  default: credit
  allow: [credit, refund, exchange]
  credit_bonus_percent: 10
fees:
  restocking_percent: "12.5"
  return_shipping: {EUR: "5.95", JPY: "890", KWD: "1.800"}
"""

NO_RETURNS_POLICY = """\
name: no-change-of-mind
window: {days: 30}
reasons: {changed_mind: decline, too_small: decline, too_large: decline, other: decline}
"""


def _shop(sqlite_url: str, now: datetime, policy: str, *, live: bool = True,
          addresses: bool = True) -> ReturnsShop:
    """A shop on ``policy``: by default live (its money moves: the page says when) with a
    return address (a return is opened for the parcel: its deadline is kept)."""
    settings: dict[str, Any] = {"policy": policy}
    if live:
        settings |= with_stripe("http://127.0.0.1:9")  # never called: the page reads no payment
    if addresses:
        settings["return_addresses"] = (DOCK,)
    return ReturnsShop(sqlite_url, lambda: now, settings=settings)


@pytest.fixture
def default_shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = _shop(sqlite_url, now, "preset:default")
    yield s
    s.close()


def _in_head(html: str) -> Any:
    head = html.split("</head>")[0]
    found = re.findall(r'<script type="application/ld\+json">(.*?)</script>', head, re.S)
    assert len(found) == 1, head
    return json.loads(found[0])


def _published(shop: ReturnsShop) -> Any:
    """The JSON-LD of the page's head, checked to be the same as ``/returns/policy.json``."""
    client = shop.app.test_client()
    page = client.get("/returns/policy")
    raw = client.get("/returns/policy.json")
    assert page.status_code == 200 and raw.status_code == 200
    assert raw.mimetype == "application/ld+json"
    in_head = _in_head(page.get_data(as_text=True))
    assert json.loads(raw.get_data(as_text=True)) == in_head
    return in_head


def _sentences(shop: ReturnsShop, accept: str) -> list[str]:
    html = shop.app.test_client().get(
        "/returns/policy", headers={"Accept-Language": accept}).get_data(as_text=True)
    block = html.split('<ul class="policy">')[1].split("</ul>")[0]
    return [s.replace("&#39;", "'") for s in re.findall(r"<li>(.*?)</li>", block)]


def test_the_default_policy_is_published_as_a_finite_window_paid_by_the_customer(
    default_shop: ReturnsShop,
) -> None:
    assert _published(default_shop) == {
        "@context": "https://schema.org", "@type": "MerchantReturnPolicy",
        "merchantReturnLink": LINK,
        "returnPolicyCategory": S + "MerchantReturnFiniteReturnWindow",
        "merchantReturnDays": 365,
        "returnMethod": S + "ReturnByMail",
        # no prepaid label: the customer posts the parcel
        "returnFees": S + "ReturnFeesCustomerResponsibility",
        "refundType": S + "FullRefund",
    }


def test_fixed_fees_are_published_as_money_in_each_currencys_decimals(
    sqlite_url: str, now: datetime, tmp_path: Path,
) -> None:
    path = tmp_path / "fees.yaml"
    path.write_text(FEES_POLICY)
    shop = _shop(sqlite_url, now, str(path))
    assert _published(shop) == {
        "@context": "https://schema.org", "@type": "MerchantReturnPolicy",
        "merchantReturnLink": LINK,
        "returnPolicyCategory": S + "MerchantReturnFiniteReturnWindow",
        "merchantReturnDays": 30,
        "returnMethod": S + "ReturnByMail",
        "returnFees": S + "ReturnShippingFees",
        "returnShippingFeesAmount": [
            {"@type": "MonetaryAmount", "currency": "EUR", "value": "5.95"},
            {"@type": "MonetaryAmount", "currency": "JPY", "value": "890"},
            {"@type": "MonetaryAmount", "currency": "KWD", "value": "1.800"},
        ],
        "restockingFee": 12.5,
        "refundType": [S + "StoreCreditRefund", S + "FullRefund", S + "ExchangeRefund"],
    }
    assert _sentences(shop, "en") == [
        "You can return items within 30 days of delivery.",
        "If an item arrives damaged, faulty or wrong, or never arrives, and you tell us within "
        "the return window, you get a full refund, including shipping, with no fees.",
        "You can choose a refund to your original payment or store credit.",
        "You can also exchange an item for another one.",
        "Choosing store credit adds a bonus of 10%.",
        "You send items back yourself, by post, with the instructions we give you.",
        "Please send them within 30 days of our answer.",
        "For a return that is not our fault, return shipping is taken from your refund: "
        "5.95 EUR, 890 JPY and 1.800 KWD, in the currency you paid in.",
        "For a return that is not our fault, a restocking fee of 12.5% is taken from your "
        "refund.",
        "We send your money within 48 hours once your return is approved.",
    ]
    shop.close()


def test_credit_first_and_no_hassle_publish_their_windows_and_refund_types(
    sqlite_url: str, now: datetime, tmp_path: Path,
) -> None:
    credit = _shop(sqlite_url, now, "preset:credit-first")
    assert _published(credit) == {
        "@context": "https://schema.org", "@type": "MerchantReturnPolicy",
        "merchantReturnLink": LINK,
        "returnPolicyCategory": S + "MerchantReturnFiniteReturnWindow",
        "merchantReturnDays": 90,
        "returnMethod": S + "ReturnByMail",
        "returnFees": S + "ReturnFeesCustomerResponsibility",
        "refundType": [S + "StoreCreditRefund", S + "FullRefund"],
    }
    credit.close()
    forever = _shop(f"sqlite:///{tmp_path / 'forever.db'}", now, "preset:no-hassle")
    assert _published(forever)["returnPolicyCategory"] == S + "MerchantReturnUnlimitedWindow"
    assert "merchantReturnDays" not in _published(forever)
    forever.close()
    path = tmp_path / "none.yaml"
    path.write_text(NO_RETURNS_POLICY)
    none = _shop(f"sqlite:///{tmp_path / 'none.db'}", now, str(path))
    assert _published(none) == {
        "@context": "https://schema.org", "@type": "MerchantReturnPolicy",
        "merchantReturnLink": LINK, "returnPolicyCategory": S + "MerchantReturnNotPermitted"}
    assert _sentences(none, "en")[0] == "We do not take back items you no longer want."
    none.close()


def test_credit_first_reads_in_english_and_in_german(
    sqlite_url: str, now: datetime,
) -> None:
    shop = _shop(sqlite_url, now, "preset:credit-first")
    assert _sentences(shop, "en") == [
        "You can return items within 90 days of delivery.",
        "Items sold as final sale can be returned for store credit only.",
        "If an item arrives damaged, faulty or wrong, or never arrives, and you tell us within "
        "the return window, you get a full refund, including shipping, with no fees.",
        "You can choose a refund to your original payment or store credit.",
        "A refund to your original payment is possible for 14 days; after that, you get store "
        "credit.",
        # the preset caps the bonus (credit_bonus_max): the page says at what, per currency
        "Choosing store credit adds a bonus of 10%, up to 75.00 AUD, 280.00 BRL, 65.00 CAD, "
        "45.00 CHF, 1,200.00 CZK, 350.00 DKK, 50.00 EUR, 40.00 GBP, 390.00 HKD, 4,300.00 INR, "
        "7,500 JPY, 15.000 KWD, 900.00 MXN, 530.00 NOK, 83.00 NZD, 200.00 PLN, 530.00 SEK, "
        "68.00 SGD and 50.00 USD, in the currency you paid in.",
        "You send items back yourself, by post, with the instructions we give you.",
        "Please send them within 30 days of our answer.",
        "No fees are taken from your refund.",
        "For some low-priced items, you keep the item and still get your money back.",
        "We send your money within 24 hours once your return is approved.",
    ]
    assert _sentences(shop, "de-DE,de;q=0.9") == [
        "Sie können Artikel innerhalb von 90 Tagen nach der Lieferung zurückgeben.",
        "Artikel, die vom Umtausch ausgeschlossen sind, können nur gegen Guthaben "
        "zurückgegeben werden.",
        "Kommt ein Artikel beschädigt, defekt, falsch oder gar nicht an und melden Sie es uns "
        "innerhalb der Rückgabefrist, erhalten Sie eine volle Erstattung einschließlich Versand, "
        "ohne Gebühren.",
        "Sie können zwischen einer Erstattung auf Ihre ursprüngliche Zahlungsart und Guthaben "
        "wählen.",
        "Eine Erstattung auf Ihre ursprüngliche Zahlungsart ist 14 Tage lang möglich; danach "
        "erhalten Sie Guthaben.",
        "Wenn Sie Guthaben wählen, erhalten Sie 10\u00a0% Bonus, höchstens 75,00\xa0AU$, "
        "280,00\xa0R$, 65,00\xa0CA$, 45,00\xa0CHF, 1.200,00\xa0CZK, 350,00\xa0DKK, 50,00\xa0€, "
        "40,00\xa0£, 390,00\xa0HK$, 4.300,00\xa0₹, 7.500\xa0¥, 15,000\xa0KWD, 900,00\xa0MX$, "
        "530,00\xa0NOK, 83,00\xa0NZ$, 200,00\xa0PLN, 530,00\xa0SEK, 68,00\xa0SGD und "
        "50,00\xa0$, in der Währung, in der Sie bezahlt haben.",
        "Sie senden Artikel selbst per Post zurück, nach unserer Anleitung.",
        "Bitte senden Sie sie innerhalb von 30 Tagen nach unserer Antwort zurück.",
        "Von Ihrer Erstattung werden keine Gebühren abgezogen.",
        "Bei manchen günstigen Artikeln behalten Sie den Artikel und bekommen trotzdem Ihr "
        "Geld zurück.",
        "Wir senden Ihr Geld innerhalb von 24 Stunden, sobald Ihre Rücksendung genehmigt ist.",
    ]
    shop.close()


def test_the_default_policy_reads_in_english_and_german_with_its_heading(
    default_shop: ReturnsShop,
) -> None:
    client = default_shop.app.test_client()
    de = client.get("/returns/policy", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="de">' in de
    assert "<h1>Unsere Rückgaberichtlinie</h1>" in de
    assert _sentences(default_shop, "de")[0] == (
        "Sie können Artikel innerhalb von 365 Tagen nach der Zahlung zurückgeben.")
    assert _sentences(default_shop, "en") == [
        "You can return items within 365 days of payment.",
        "If an item arrives damaged, faulty or wrong, or never arrives, and you tell us within "
        "the return window, you get a full refund, including shipping, with no fees.",
        "Your money goes back to your original payment.",
        "You send items back yourself, by post, with the instructions we give you.",
        "Please send them within 30 days of our answer.",
        "No fees are taken from your refund.",
        "We send your money within 48 hours once your return is approved.",
    ]


def test_anyone_can_read_it_without_a_look_up_or_a_log_in_and_the_start_page_links_it(
    default_shop: ReturnsShop,
) -> None:
    client = default_shop.app.test_client()  # no session, no order looked up, no token
    page = client.get("/returns/policy")
    assert page.status_code == 200
    assert "<h1>Our return policy</h1>" in page.get_data(as_text=True)
    assert client.get("/returns/policy.json").status_code == 200
    start = client.get("/returns").get_data(as_text=True)
    assert '<a href="/returns/policy">Read our return policy</a>' in start


def test_the_page_runs_no_script_its_only_script_is_the_json_ld_data(
    default_shop: ReturnsShop,
) -> None:
    page = default_shop.app.test_client().get("/returns/policy")
    assert page.status_code == 200
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert html.count("<script") == 1 and _in_head(html)["@type"] == "MerchantReturnPolicy"
    without = re.sub(r'<script type="application/ld\+json">[^<]*</script>', "", html)
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", without, re.IGNORECASE)


HOLDING_POLICY = """\
name: held-until-the-parcel
window: {days: 30}
refund_on: first_scan
"""


@pytest.mark.parametrize(("live", "addresses", "last"), [
    (True, True, ["Please send them within 30 days of our answer.",
                  "No fees are taken from your refund.",
                  "We send your money within 48 hours once your parcel is on its way back to "
                  "us or has arrived."]),
    # no return address: no return waits for a parcel, so no deadline is kept and the money
    # goes at approval, as the service then does
    (True, False, ["You send items back yourself, by post, with the instructions we give you.",
                   "No fees are taken from your refund.",
                   "We send your money within 48 hours once your return is approved."]),
    # a dry run (the page says test mode): no promise of when money goes, as the answers
    (False, True, ["You send items back yourself, by post, with the instructions we give you.",
                   "Please send them within 30 days of our answer.",
                   "No fees are taken from your refund."]),
])
def test_the_page_says_what_the_service_will_do_with_this_shops_settings(
    sqlite_url: str, now: datetime, tmp_path: Path, live: bool, addresses: bool,
    last: list[str],
) -> None:
    path = tmp_path / "held.yaml"
    path.write_text(HOLDING_POLICY)
    shop = _shop(sqlite_url, now, str(path), live=live, addresses=addresses)
    try:
        said = _sentences(shop, "en")
        assert said[-3:] == last
        assert ("This shop is in test mode" in shop.app.test_client().get(
            "/returns/policy").get_data(as_text=True)) is not live
    finally:
        shop.close()
