"""A shipped catalogue read as its ``.po`` says it, for tests of its wording."""

from __future__ import annotations

from babel.messages.pofile import read_po

from refunds_plugin.language import TRANSLATIONS


def translated(locale: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) of each translation in ``locale``'s catalogue, each plural form too."""
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        cat = read_po(f)
    out = []
    for m in cat:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        out += [(ids[0], s) for s in strings]
    return out
