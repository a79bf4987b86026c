"""The service will not start without a valid policy: it refuses rather than run unguarded."""

from __future__ import annotations

import pytest

from policies import PolicyError
from refunds_plugin.bootstrap import build
from refunds_plugin.config import load_config


def test_the_service_refuses_to_start_on_an_invalid_policy_file(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("window: {days: forever}\n")
    config = load_config(env={"REFUNDS_POLICY": str(path),
                              "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    with pytest.raises(PolicyError) as caught:
        build(config)
    assert caught.value.problems == (("window.days", "expected a whole number of days (0 or "
                                                     "more) or \"unlimited\", found 'forever'"),)
    assert not (tmp_path / "r.db").exists()  # refused before touching the database


def test_the_service_refuses_to_start_on_an_unknown_preset(tmp_path):
    config = load_config(env={"REFUNDS_POLICY": "preset:generous",
                              "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    with pytest.raises(PolicyError):
        build(config)


def test_the_default_configuration_uses_the_default_preset():
    assert load_config(env={}).policy == "preset:default"


def test_the_service_refuses_to_start_on_a_setting_written_twice(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("window: {days: 30}\nfees: {restocking_percent: 10}\nwindow: {days: 365}\n")
    config = load_config(env={"REFUNDS_POLICY": str(path),
                              "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    with pytest.raises(PolicyError) as caught:
        build(config)
    assert caught.value.problems == (("window", "expected each setting once, found it again at "
                                                "line 3 (first at line 1)"),)
    assert not (tmp_path / "r.db").exists()
