"""The order widget is declared only to a Saleor that has it: 3.20's schema knows no
``ORDER_DETAILS_WIDGETS`` mount (and no ``WIDGET`` target), so its manifest must not name one;
3.22+ (mounts and targets as strings) gets the widget, posted to with ``widgetTarget: POST``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.saleor.manifest import manifest, parse_version, supports_widgets

WIDGET = {
    "label": "Returns and refunds",
    "mount": "ORDER_DETAILS_WIDGETS",
    "target": "WIDGET",
    "permissions": ["MANAGE_ORDERS"],
    "url": "https://refunds.example.com/saleor/widget/order",
    "options": {"widgetTarget": {"method": "POST"}},
}


def _enum(sdl: str, name: str) -> set[str] | None:
    found = re.search(r"enum " + name + r"\b[^{]*\{([^}]*)\}", sdl)
    return None if found is None else set(found.group(1).split())


@pytest.mark.parametrize("version", ["3.20", "3.23"])
def test_each_schemas_manifest_names_only_mounts_and_targets_that_saleor_knows(
    saleor_schema_dir: Path, version: str
) -> None:
    sdl = (saleor_schema_dir / f"schema-{version}.graphql").read_text(encoding="utf-8")
    mounts, targets = _enum(sdl, "AppExtensionMountEnum"), _enum(sdl, "AppExtensionTargetEnum")
    extensions = manifest("https://refunds.example.com", version)["extensions"]
    if mounts is not None:  # before 3.22 Saleor validates extensions against these enums
        assert "ORDER_DETAILS_WIDGETS" not in mounts and "WIDGET" not in (targets or set())
        assert all(e["mount"] in mounts and e["target"] in (targets or set()) for e in extensions)
        assert extensions == []
    else:  # 3.22+: ``mountName``/``targetName`` are strings, the widget exists
        assert "mountName: String!" in sdl and "targetName: String!" in sdl
        assert extensions == [WIDGET]


@pytest.mark.parametrize(("version", "has"), [
    (None, False), ("", False), ("3.20", False), ("3.21.69", False), ("3.22", True),
    ("3.23.28", True), ("4.0", True), ("latest", False),
])
def test_the_widget_is_declared_from_3_22_and_never_for_an_unknown_version(version, has):
    assert supports_widgets(version) is has
    assert (manifest("https://refunds.example.com/", version)["extensions"] == [WIDGET]) is has


def test_parse_version_reads_major_and_minor():
    assert parse_version("3.23.28") == (3, 23) and parse_version("3") is None


def test_the_manifest_declares_our_url_as_the_audience_of_saleors_tokens():
    assert manifest("https://refunds.example.com/")["audience"] == "https://refunds.example.com"


def test_refunds_saleor_manifest_takes_the_saleor_version():
    args = ["saleor", "manifest", "--app-url", "https://refunds.example.com"]
    result = CliRunner().invoke(main, [*args, "--saleor-version", "3.22"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["extensions"] == [WIDGET]
    result = CliRunner().invoke(main, args)
    assert json.loads(result.output)["extensions"] == []
