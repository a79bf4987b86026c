"""French: a return sent to a person is "votre retour" (masculine), so the sentence after it
reads "S'il est accepté", not "Si elle est acceptée"."""

from __future__ import annotations

from policy_builders import NOW, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import render

COAT = OrderLine("coat", "COAT-W", "Manteau", 1, 60000)


def test_a_return_waiting_for_review_is_masculine_in_french() -> None:
    d = evaluate(load_policy("preset:credit-first"), order(lines=(COAT,)),
                 ask(("coat", 1, Reason.CHANGED_MIND)), NOW)
    assert d.outcome.value == "review"
    french = render(d.explanation, "fr")
    assert french.startswith("Merci. Votre retour de 1 × Manteau doit être rapidement vérifié "
                             "par notre équipe.")
    assert "S'il est accepté, nous allons vous accorder" in french
    assert "Si elle est acceptée" not in french
