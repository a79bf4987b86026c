"""German, as the phone walk read it: an email asking for one item back cannot say "ihn"
(masculine: "send him back") of an item whose gender it does not know, and a final-sale item is
"vom Umtausch ausgeschlossen", the shop's own words for it, never the calque "endgültiger
Verkauf" ("definitive sale")."""

from __future__ import annotations

from tests.unit.language.po import translated


def test_the_return_by_sentence_names_the_item_not_a_gendered_pronoun() -> None:
    said = [s for i, s in translated("de") if i == "Send it by %(date)s."]

    assert said == ["Bitte senden Sie den Artikel bis zum %(date)s.",
                    "Bitte senden Sie die Artikel bis zum %(date)s."]


def test_final_sale_is_said_as_excluded_from_exchange() -> None:
    final_sale = [(i, s) for i, s in translated("de") if "final sale" in i.lower()
                  or "final-sale" in i.lower()]

    assert len(final_sale) == 10
    assert [i for i, s in final_sale if "vom umtausch ausgeschlossen" not in s.lower()] == []
    assert [s for _i, s in translated("de") if "endgültig" in s.lower()] == []
