"""Every sentence a customer reads is in every catalogue we ship, translated and current.

The message ids are extracted from the sources and templates exactly as a contributor would
(``pybabel extract -F babel.cfg -k N_ -k said``, Babel's own extractor), so a new ``_()``,
``N_()`` or ``said()`` without a German, French and Spanish translation fails here. The compiled
``.mo`` files are committed (an install from the repository needs no build step), so each must
be what its ``.po`` compiles to.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from refunds_plugin.language import LOCALES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = [loc for loc in LOCALES if loc != "en"]  # English is the source text
FIELDS = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_", "-k", "said",
        "-o", str(out), str(ROOT)])
    with out.open("rb") as f:
        return read_po(f)


def _catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def test_the_extraction_finds_the_pages_the_explanation_and_the_emails(
    extracted: Catalog,
) -> None:
    ids = {m.id for m in extracted if m.id}
    for sample in ("Start a return",  # the returns page (strings.py, N_)
                   "Your return of {items} is approved.",  # the explanation (said)
                   "Your return for order %(number)s is approved",  # an email's subject
                   "{name} was sold as final sale and cannot be returned."):  # a rule
        assert sample in ids
    assert len(ids) > 300


def _marked(tree: ast.AST) -> set[str]:
    """The literal message ids of every ``said(...)``, ``N_(...)`` and ``_(...)`` call."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("said", "N_", "_") and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def test_the_extractor_misses_no_marked_sentence(extracted: Catalog) -> None:
    """Babel reads tokens, not the syntax tree: a name it takes for a keyword used some other
    way (``plan.said[:]``) once made it skip the calls after it. Every marked call counts."""
    ids = {m.id for m in extracted if m.id}
    missed = {}
    for tree in ("policies", "refunds_plugin", "webhooks"):
        for path in sorted((ROOT / tree).rglob("*.py")):
            lost = _marked(ast.parse(path.read_text(encoding="utf-8"))) - ids
            if lost:
                missed[str(path.relative_to(ROOT))] = sorted(lost)
    assert missed == {}


def _forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A translation's forms: one, or one per plural form of the language."""
    return (string,) if isinstance(string, str) else tuple(string)


def _first(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_customer_facing_message_is_translated_and_not_fuzzy(
    extracted: Catalog, locale: str
) -> None:
    catalogue = _catalogue(locale)
    missing, empty, fuzzy, fields = [], [], [], []
    for msg in extracted:
        if not msg.id:
            continue
        found = catalogue.get(msg.id)
        if found is None:
            missing.append(msg.id)
        elif not found.string:
            empty.append(msg.id)
        elif found.fuzzy:
            fuzzy.append(msg.id)
        elif any(sorted(FIELDS.findall(said)) != sorted(FIELDS.findall(_first(msg.id)))
                 for said in _forms(found.string)):
            fields.append(msg.id)  # a translation (each plural form) keeps every field
    assert (missing, empty, fuzzy, fields) == ([], [], [], []), locale


@pytest.mark.parametrize("locale", SHIPPED)
def test_each_committed_mo_is_what_its_po_compiles_to(locale: str) -> None:
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(locale), use_fuzzy=False)
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue(), (
        f"{folder / 'messages.mo'} is stale: run "
        "pybabel compile -d refunds_plugin/language/translations")


def test_the_package_ships_the_catalogues() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"language/translations/*/LC_MESSAGES/*.mo"' in text
    assert '"language/translations/*/LC_MESSAGES/*.po"' in text
