"""The store-credit bonus is said without an article that depends on the amount ("a bonus of
8.00 USD", never "a 8.00 USD bonus"), in the explanation, the rule's sentence and every
language."""

from __future__ import annotations

from policy_builders import NOW, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import render

POLICY = load_policy("preset:credit-first")
JACKET = OrderLine("jacket", "JKT-1", "Rain jacket", 1, 7200)  # + 8.00 shipping


def test_an_8_dollar_bonus_reads_right_in_every_language() -> None:
    d = evaluate(POLICY, order(lines=(JACKET,)), ask(("jacket", 1, Reason.CHANGED_MIND)), NOW)
    [rule] = [r for r in d.trace if r.rule == "credit_bonus"]

    assert "give you 88.00 USD in store credit (including a bonus of 8.00 USD for choosing " \
        "credit)" in d.explanation
    assert "a 8.00" not in d.explanation
    assert rule.message == "You get a bonus of 8.00 USD for choosing store credit."
    nb = "\xa0"  # money is written with a no-break space in these languages
    assert (f"Ihnen 88,00{nb}$ als Guthaben geben (inklusive eines Bonus von 8,00{nb}$, weil Sie "
            "Guthaben gewählt haben)") in render(d.explanation, "de")
    assert (f"vous accorder 88,00{nb}$US en avoir (dont un bonus de 8,00{nb}$US pour avoir "
            "choisi l'avoir)") in render(d.explanation, "fr")
    assert (f"darte 88,00{nb}US$ en crédito de tienda (incluye un bono de 8,00{nb}US$ por "
            "elegir crédito)") in render(d.explanation, "es")
    assert [render(rule.message, loc) for loc in ("de", "fr", "es")] == [
        f"Sie erhalten einen Bonus von 8,00{nb}$ dafür, dass Sie Guthaben gewählt haben.",
        f"Vous recevez un bonus de 8,00{nb}$US pour avoir choisi un avoir.",
        f"Recibes un bono de 8,00{nb}US$ por elegir crédito de tienda."]
