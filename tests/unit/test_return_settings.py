"""The physical return's settings: ``[[return_addresses]]`` (with a per-country choice),
``[return_parcel]`` and ``[saleor] restock_warehouse`` from the TOML file, refused with the
exact cause; and the policy's ``return_shipping`` and ``refund_on`` in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

import policies
from refunds_plugin.config import ConfigError, Parcel, ReturnAddress, choose_address, load_config

ADDRESSES = """
[[return_addresses]]
name = "Unser Lager"
street = "Lagerweg 2"
city = "Berlin"
postal_code = "10115"
country = "de"
countries = ["de", "AT"]

[[return_addresses]]
name = "Our shop returns"
street = "1 Dock Rd"
city = "Austin"
postal_code = "78701"
region = "TX"
country = "US"

[return_parcel]
weight_grams = 500

[saleor]
restock_warehouse = "V2FyZWhvdXNlOjE="
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "refunds.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(env={"REFUNDS_CONFIG_FILE": str(path)})


def test_addresses_parcel_and_restock_warehouse_come_from_the_file(tmp_path: Path) -> None:
    config = _load(tmp_path, ADDRESSES)
    de = ReturnAddress("Unser Lager", "Lagerweg 2", "Berlin", "10115", "DE", ("DE", "AT"))
    us = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US", region="TX")
    assert config.return_addresses == (de, us)  # type: ignore[attr-defined]
    assert config.return_parcel == Parcel(500, 30, 20, 10)  # type: ignore[attr-defined]
    assert config.saleor_restock_warehouse == "V2FyZWhvdXNlOjE="  # type: ignore[attr-defined]
    assert [choose_address((de, us), c) for c in ("at", "DE", "FR", None)] == [de, de, us, us]


@pytest.mark.parametrize("text,said", [
    ('[[return_addresses]]\nname = "A"\ncity = "B"\n',
     "return_addresses[0] needs street, postal_code, country (text)"),
    ('[[return_addresses]]\nname="A"\nstreet="S"\ncity="B"\npostal_code="1"\ncountry="US"\n'
     'countries = ["USA"]\n',
     'return_addresses[0]: countries must be two-letter codes such as ["DE", "AT"]'),
    ('[[return_addresses]]\nname="A"\nstreet="S"\ncity="B"\npostal_code="1"\ncountry="US"\n'
     'region = 48\n',
     'return_addresses[0]: region must be text such as "TX"'),
    ('[return_parcel]\nweight_grams = 0\n',
     "[return_parcel] takes whole numbers above 0 for height_cm, length_cm, weight_grams, "
     "width_cm"),
    ('[saleor]\nwarehouse = "x"\n', '[saleor] takes restock_warehouse = "<warehouse id>"'),
    ('easypost_api_key = "EZAK"\n',
     "easypost_api_key is a secret; set it in the environment instead"),
])
def test_a_wrong_table_is_refused_naming_it(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert str(caught.value) == f"{tmp_path / 'refunds.toml'}: {said}"


def test_policy_check_says_how_items_come_back_and_when_the_money_moves() -> None:
    policy = policies.load_policy_text(
        'currency: USD\nwindow: {days: 30}\n'
        'return_shipping: {label: easypost, paid_by: customer, fee: "6.00", '
        'free_for: [merchant_fault, too_small], return_by_days: 21, grace_days: 3, '
        'packing_notes: "Original box, please."}\n'
        'refund_on: {refund: first_scan, credit: approval}\n', "p")
    lines = policy.describe()
    assert ("Items that must come back get a prepaid EasyPost label (the cheapest allowed rate); "
            "they must be sent within 21 days of approval (a return not scanned 3 days after "
            "that expires and its label is voided).") in lines
    assert ("The customer pays 6.00 USD for the return label, deducted from the refund (free "
            "for: merchant_fault, too_small).") in lines
    assert "Packing notes: Original box, please." in lines
    assert ("Money is on its way within 48 hours of the carrier's first scan (refund); "
            "approval (credit).") in lines


def test_the_manifest_asks_for_manage_products_only_when_restock_is_configured() -> None:
    from refunds_plugin.saleor.manifest import manifest

    assert "MANAGE_PRODUCTS" not in manifest("https://refunds.example.com")["permissions"]
    assert manifest("https://refunds.example.com", restock=True)["permissions"] == [
        "MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_GIFT_CARD", "MANAGE_PRODUCTS"]
