"""Finding, reading and validating policy files: ``path`` or ``preset:NAME`` in, ``Policy`` out.

The content hash is the sha256 of the exact bytes, so finance can match a decision to the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from policies.errors import PolicyError
from policies.policy import AbuseRules, Policy
from policies.schema import PolicySchema, policy_currency
from refunds_plugin.money import CurrencyError, normalize_currency

PRESET_PREFIX = "preset:"


def list_presets() -> list[str]:
    """Names of the presets shipped in ``policies/presets`` (usable as ``preset:NAME``)."""
    folder = resources.files("policies").joinpath("presets")
    return sorted(e.name[: -len(".yaml")] for e in folder.iterdir() if e.name.endswith(".yaml"))


def load_policy(spec: str) -> Policy:
    """Load ``preset:NAME`` or a file path; ``PolicyError`` names file, field and expectation."""
    if spec.startswith(PRESET_PREFIX):
        name = spec[len(PRESET_PREFIX):]
        if name not in list_presets():
            raise PolicyError(spec, [("preset", f"one of {', '.join(list_presets())}")])
        data = resources.files("policies").joinpath("presets", f"{name}.yaml").read_bytes()
        return _load_bytes(data, source=spec, name_hint=name)
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(spec, [("(file)", f"a readable policy file ({exc.strerror})")]) from exc
    return _load_bytes(data, source=spec, name_hint=path.stem)


def load_policy_text(text: str, name_hint: str) -> Policy:
    """Validate policy YAML given as text (hash of its UTF-8 bytes); ``name_hint`` if unnamed."""
    return _load_bytes(text.encode("utf-8"), source=name_hint, name_hint=name_hint)


def _load_bytes(data: bytes, source: str, name_hint: str) -> Policy:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PolicyError(source, [("(file)", "UTF-8 text")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise PolicyError(source, [("(file)", f"valid YAML{where}: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise PolicyError(source, [("(file)", "a mapping of policy settings, such as window:")])
    currency = raw.get("currency")
    if currency is not None:
        try:
            currency = normalize_currency(currency)
        except CurrencyError as exc:
            raise PolicyError(source, [("currency", str(exc))]) from exc
    token = policy_currency.set(currency)
    try:
        loaded: dict[str, Any] = PolicySchema().load(raw)
    except ValidationError as exc:
        raise PolicyError(source, _flatten(exc.messages)) from exc
    finally:
        policy_currency.reset(token)
    loaded.pop("currency")
    loaded["name"] = loaded["name"] or name_hint
    loaded["abuse"] = loaded["abuse"] or AbuseRules(enabled=False)
    digest = hashlib.sha256(data).hexdigest()
    return replace(Policy(name=loaded.pop("name"), content_hash=digest), **loaded)


def _flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """Turn marshmallow's nested messages into (``window.overrides[0].days``, message) pairs."""
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, value in messages.items():
            if key == "_schema":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            out.extend(_flatten(value, sub))
        return out
    if isinstance(messages, list):
        return [(path or "(file)", _unknown(str(m))) for m in messages]
    return [(path or "(file)", _unknown(str(messages)))]


def _unknown(message: str) -> str:
    return "a known setting (this key is not part of the policy language)" \
        if message == "Unknown field." else message
