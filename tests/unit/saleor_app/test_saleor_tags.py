"""Saleor line tags: what the merchant marks in Saleor becomes the tags the policy matches."""

from __future__ import annotations

from refunds_plugin.config import Config, load_config
from refunds_plugin.saleor.tags import FINAL_SALE_KEY, line_tags
from tests.fakes.saleor_api import product


def test_every_kind_of_mark_becomes_a_prefixed_tag_once():
    variant = product(metadata={"refunds.final_sale": " TRUE "}, product_type="dresses",
                      attributes={"sale": ["final", "final"]}, collections=("clearance",))
    variant["attributes"] = [{"attribute": {"slug": "no-returns"},
                              "values": [{"slug": "7_true", "boolean": True}]}]
    assert line_tags(variant) == ("final-sale", "product-type:dresses", "attribute:sale:final",
                                  "attribute:no-returns:true", "collection:clearance")


def test_the_variant_value_wins_and_words_other_than_yes_or_no_are_ignored():
    assert line_tags(product(metadata={"refunds.final_sale": "1"},
                             variant_metadata={"refunds.final_sale": "No"})) == (
        "product-type:shirts",)
    assert line_tags(product(metadata={"refunds.final_sale": "yes"},
                             variant_metadata={"refunds.final_sale": "maybe"})) == (
        "final-sale", "product-type:shirts")
    assert line_tags(product(metadata={"other.key": "true"})) == ("product-type:shirts",)


def test_a_deleted_variant_has_no_tags():
    assert line_tags(None) == ()


def test_the_key_is_a_setting_with_the_documented_default():
    assert Config().saleor_final_sale_key == FINAL_SALE_KEY == "refunds.final_sale"
    config = load_config({"REFUNDS_SALEOR_FINAL_SALE_KEY": "shop.no_returns"})
    assert config.saleor_final_sale_key == "shop.no_returns"
