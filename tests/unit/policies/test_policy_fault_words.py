"""What the published page and ``refunds policy check`` promise for a return that is our fault
(damaged, faulty, wrong, never arrived) is what ``evaluate`` decides: the window applies to it
too, so "always" is said only where no window ends."""

from __future__ import annotations

from policies import evaluate, load_policy
from policies.published import customer_sentences
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import render
from tests.unit.policies.policy_builders import NOW, ask, order

WITHIN = ("If an item arrives damaged, faulty or wrong, or never arrives, and you tell us within "
          "the return window, you get a full refund, including shipping, with no fees.")
ALWAYS = ("If an item arrives damaged, faulty or wrong, or never arrives, you always get a full "
          "refund, including shipping, with no fees.")


def test_a_fault_told_after_a_closing_window_is_declined_and_the_page_says_within_it() -> None:
    pol = load_policy("preset:credit-first")  # 90 days from delivery, later: declined
    d = evaluate(pol, order(days=127), ask(("shirt", 1, Reason.DEFECTIVE)), NOW)
    assert (d.outcome.value, d.reason_code) == ("decline", "outside_window")
    said = customer_sentences(pol)
    assert WITHIN in said and ALWAYS not in said
    assert render(said[said.index(WITHIN)], "fr") == (
        "Si un article arrive endommagé, défectueux ou erroné, ou n’arrive jamais, et que vous "
        "nous le signalez dans le délai de retour, vous êtes remboursé intégralement, livraison "
        "comprise, sans frais.")
    assert ("Damaged, defective, wrong, not-as-described or never-received items get a full "
            "refund with shipping and no fees within the return window (later requests are "
            "declined).") in pol.describe()


def test_without_a_window_that_ends_a_fault_is_always_taken_back() -> None:
    pol = load_policy("preset:no-hassle")  # lifetime guarantee
    d = evaluate(pol, order(days=1000), ask(("shirt", 1, Reason.DEFECTIVE)), NOW)
    assert d.outcome.value == "approve"
    assert ALWAYS in customer_sentences(pol)
    assert ("Damaged, defective, wrong, not-as-described or never-received items always get a "
            "full refund with shipping and no fees.") in pol.describe()
