"""Finding, reading and validating policy files: ``path`` or ``preset:NAME`` in, ``Policy`` out.

The content hash is the sha256 of the exact bytes, so finance can match a decision to the file.
Every problem is said in one voice, "expected what is allowed, found what was there", with a
did-you-mean for a misspelt setting or preset (``difflib``).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields

from policies.errors import PolicyError
from policies.fields import policy_currency
from policies.policy import AbuseRules, Policy
from policies.schema import PolicySchema
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
            known = list_presets()
            raise PolicyError(spec, [("preset", f"expected one of {', '.join(known)}, found "
                                                f"{name!r}{_did_you_mean(name, known)}")])
        data = resources.files("policies").joinpath("presets", f"{name}.yaml").read_bytes()
        return _load_bytes(data, source=spec, name_hint=name)
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
        raise PolicyError(spec, [("(file)", "expected a readable policy file or preset:NAME, "
                                            f"found {why}")]) from exc
    return _load_bytes(data, source=spec, name_hint=path.stem)


def load_policy_text(text: str, name_hint: str) -> Policy:
    """Validate policy YAML given as text (hash of its UTF-8 bytes); ``name_hint`` if unnamed."""
    return _load_bytes(text.encode("utf-8"), source=name_hint, name_hint=name_hint)


def _load_bytes(data: bytes, source: str, name_hint: str) -> Policy:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PolicyError(source, [("(file)", "expected UTF-8 text, found other bytes")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(source, [("(file)", f"expected valid YAML, found a syntax error{where}"
                                              f": {problem}")]) from exc
    if not isinstance(raw, dict):
        raise PolicyError(source, [("(file)", "expected a mapping of policy settings such as "
                                              f"window:, found {_kind(raw)}")])
    twice = _written_twice(data.decode("utf-8"))
    if twice:
        raise PolicyError(source, twice)
    currency = raw.get("currency")
    if currency is not None:
        try:
            currency = normalize_currency(currency)
        except CurrencyError as exc:
            raise PolicyError(source, [("currency", "expected an ISO 4217 code such as USD, "
                                                    f"found {currency!r}")]) from exc
    token = policy_currency.set(currency)
    try:
        loaded: dict[str, Any] = PolicySchema().load(raw)
    except ValidationError as exc:
        raise PolicyError(source, _flatten(exc.messages, raw, PolicySchema())) from exc
    finally:
        policy_currency.reset(token)
    loaded.pop("currency")
    loaded["name"] = loaded["name"] or name_hint
    loaded["abuse"] = loaded["abuse"] or AbuseRules(enabled=False)
    digest = hashlib.sha256(data).hexdigest()
    return replace(Policy(name=loaded.pop("name"), content_hash=digest), **loaded)


def _flatten(messages: Any, raw: Any, where: Any, path: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages as (``window.overrides[0].days``, message) pairs, in the
    one voice; ``raw`` is the file's value at ``path`` and ``where`` its schema (or list field)."""
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, value in messages.items():
            if key == "_schema":
                out.extend(_flatten(value, raw, where, path))
            elif isinstance(key, int) and isinstance(raw, list):
                item = raw[key] if isinstance(raw, list) and 0 <= key < len(raw) else None
                out.extend(_flatten(value, item, _inner(where), f"{path}[{key}]"))
            elif value == ["Unknown field."] and isinstance(where, Schema):
                out.append((f"{path}.{key}" if path else str(key), _unknown(key, where)))
            else:
                item = raw.get(key) if isinstance(raw, dict) else None
                field = where.fields.get(key) if isinstance(where, Schema) else None
                out.extend(_flatten(value, item, _inner(field), f"{path}.{key}" if path else key))
        return out
    found = messages if isinstance(messages, list) else [messages]
    return [(path or "(file)", _voice(str(m), raw)) for m in found]


def _inner(field: Any) -> Any:
    """The schema below a field (a list's items: its inner field's)."""
    if isinstance(field, fields.List):
        return field if not isinstance(field.inner, fields.Nested) else field.inner.schema
    if isinstance(field, fields.Nested) or isinstance(getattr(field, "schema", None), Schema):
        return field.schema  # a Nested's, or a field's own mapping (``HigherField``)
    return field


_BUILT_IN = {  # marshmallow's own messages, said as expected/found
    "Missing data for required field.": "expected this setting (it is required), found none",
    "Field may not be null.": "expected a value, found none (null)",
    "Not a valid integer.": "expected a whole number, found {}",
    "Not a valid boolean.": "expected true or false, found {}",
    "Not a valid string.": "expected text, found {}",
    "Not a valid list.": "expected a list, found {}",
    "Invalid input type.": "expected a mapping of settings, found {}",
}


def _voice(message: str, raw: Any) -> str:
    said = _BUILT_IN.get(message)
    return message if said is None else said.format(_kind(raw))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else repr(value)


def _unknown(key: Any, schema: Schema) -> str:
    allowed = list(schema.fields)
    return (f"expected one of {', '.join(allowed)}, found unknown setting {key!r}"
            + (_did_you_mean(key, allowed) if isinstance(key, str) else ""))


def _written_twice(text: str) -> list[tuple[str, str]]:
    """Each setting the file writes twice in one mapping: YAML would keep the last silently,
    so a pasted block could replace a rule the merchant believes is in force."""
    out: list[tuple[str, str]] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                where = f"{path}.{name}" if path else str(name)
                if name is not None and name != "<<":
                    if name in first:
                        out.append((where, "expected each setting once, found it again at line "
                                           f"{key.start_mark.line + 1} (first at line "
                                           f"{first[name]})"))
                    else:
                        first[name] = key.start_mark.line + 1
                walk(value, where)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return out


def _did_you_mean(found: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(found, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
