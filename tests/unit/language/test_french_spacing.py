"""French puts a no-break space (narrow, U+202F, or full, U+00A0) before ";", "?", "!" and ":",
and inside « »; a plain space there lets a line break strand the sign, and no space at all is
English typography. Checked on every French msgstr a customer can read, leaving alone what is
not prose: a URL ("https://…", a bare "https:"), a format placeholder (``%(x)s``, ``{x}``,
``{x:>3}``) and a time (``10:30``)."""

from __future__ import annotations

import re

import pytest

from refunds_plugin.language import catalogue
from tests.unit.language.po import translated

NO_BREAK = "\u202f\u00a0"
NOT_PROSE = re.compile(r"https?://\S+|\bhttps?:|%\([^)]*\)[a-z]|%[a-z]|\{[^{}]*\}"
                       r"|\b\d{1,2}:\d{2}\b")


def loose_signs(text: str) -> list[str]:
    """Each sign in ``text`` without its no-break space, with the ten characters on its side."""
    prose = NOT_PROSE.sub(lambda m: "x" * len(m.group(0)), text)
    found = []
    for m in re.finditer(r"[;?!:»]|«", prose):
        at, sign = m.start(), m.group(0)
        if sign == "«":
            ok = at + 1 < len(prose) and prose[at + 1] in NO_BREAK
        else:  # "?!" and "!!" share the first sign's space
            ok = at > 0 and (prose[at - 1] in NO_BREAK or sign in "?!" and prose[at - 1] in "?!")
        if not ok:
            found.append(text[at:at + 11] if sign == "«" else text[max(0, at - 10):at + 1])
    return found


@pytest.mark.parametrize(("text", "loose"), [
    ("Comment souhaitez-vous être remboursé ?", ["remboursé ?"]),
    ("Pas d'imprimante?", ["imprimante?"]),
    ("le motif « {label} »", ["« {label} »", "« {label} »"]),
    ("Équipe vérifie ; si c'est", ["e vérifie ;"]),
    ("Commande\u00a0: %(number)s\u202f; merci\u202f!", []),
    ("le motif «\u202f{label}\u202f»", []),
    ("Vraiment\u202f?!", []),
    ("Voir https://shop.example/a?b=1:2 ou {when:%H:%M}, à 10:30, https:", []),
])
def test_the_rule_finds_a_loose_sign_and_leaves_urls_placeholders_and_times_alone(
    text: str, loose: list[str],
) -> None:
    assert loose_signs(text) == loose


def test_every_french_sign_has_a_no_break_space_before_it() -> None:
    assert [(i, s, loose_signs(s)) for i, s in translated("fr") if s and loose_signs(s)] == []


def test_the_compiled_french_catalogue_says_them_so() -> None:
    assert catalogue.gettext("fr", "How would you like your money back?") == (
        "Comment souhaitez-vous être remboursé\u202f?")
    assert catalogue.gettext("fr", "{more}; we waive the difference.") == (
        "{more}\u202f; nous vous offrons la différence.")
