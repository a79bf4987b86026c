"""The Spanish pages and emails speak to the customer as "tú" ("Introduce tu número de pedido",
"Puedes devolverlo"), so no sentence may switch to the formal "usted" ("vuelva a empezar", "Lo
que ha escrito … Elimínelo", "no tiene que hacer nada"): a customer reading the not-found page,
a refused look-up or a status page in part unreadable was addressed both ways on one page."""

from __future__ import annotations

import re

from tests.unit.language.po import translated

# forms only "usted" takes: its pronoun and the imperatives and present forms these pages use
FORMAL = re.compile(r"\b(usted|ustedes|vuelva|ha escrito|elimínelo|inténtelo|escriba|"
                    r"no tiene que|compruebe|introduzca|espere|pulse|seleccione|indique)\b",
                    re.IGNORECASE)


def test_no_spanish_sentence_switches_to_usted() -> None:
    formal = [(msgid, text) for msgid, text in translated("es") if FORMAL.search(text)]
    assert formal == []


def test_the_three_that_did_now_say_tu() -> None:
    said = dict(translated("es"))
    assert said["There is no page at this address. To return something, start again from the "
                "returns page."] == ("No hay ninguna página en esta dirección. Para devolver "
                                     "algo, vuelve a empezar desde la página de devoluciones.")
    assert said["What you entered contains an invisible control character that we cannot "
                "accept. Please remove it (type the text again rather than pasting it) and try "
                "again."] == ("Lo que has escrito contiene un carácter de control invisible que "
                              "no podemos aceptar. Elimínalo (escribe el texto de nuevo en lugar "
                              "de pegarlo) e inténtalo otra vez.")
    assert said["Part of your return's record cannot be read right now, so this page shows only "
                "what can be. Our team has been told and will look at it; you don't need to do "
                "anything."].endswith("Nuestro equipo ya lo sabe y lo revisará; no tienes que "
                                      "hacer nada.")
