"""The policy file's own field types: money thresholds, percentages, days and choices.

Money is a quoted decimal string in the file's ``currency`` or a per-currency mapping; a YAML
number is refused so no amount passes through a float.
"""

from __future__ import annotations

import difflib
import re
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields, validate

from policies import policy as p
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.money import (
    AmountError,
    CurrencyError,
    Money,
    exponent,
    normalize_currency,
)

# The file's top-level ``currency``, visible to AmountField while one file is being loaded.
policy_currency: ContextVar[str | None] = ContextVar("policy_currency", default=None)

_MONEY_HINT = 'a quoted decimal string such as "25.00" or a mapping like {USD: "25.00"}'


class AmountField(fields.Field):
    """A money threshold: decimal string in the policy currency, or per-currency mapping."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> p.AmountTable:
        if isinstance(value, str):
            currency = policy_currency.get()
            if currency is None:
                raise ValidationError(f'expected a mapping like {{USD: "{value}"}}, or a '
                                      "top-level `currency` for a plain amount, found "
                                      f"{value!r} and no top-level `currency`")
            return p.AmountTable(((currency, _minor(value, currency)),))
        if isinstance(value, dict) and value:
            pairs = []
            for cur, text in value.items():
                try:
                    code = normalize_currency(str(cur))
                except CurrencyError as exc:
                    raise ValidationError(f"expected an ISO 4217 currency code such as USD, "
                                          f"found unknown currency {cur!r}") from exc
                if not isinstance(text, str):
                    raise ValidationError(f"{cur}: expected {_MONEY_HINT}, found {text!r}")
                pairs.append((code, _minor(text, code)))
            return p.AmountTable(tuple(sorted(pairs)))
        raise ValidationError(f"expected {_MONEY_HINT}, found {value!r}")


def _minor(text: str, currency: str) -> int:
    try:
        money = Money.parse(text, currency)
    except AmountError as exc:
        raise ValidationError(f"expected {_MONEY_HINT}, found {text!r} ({exc})") from exc
    if money.minor < 0:
        example = Money(25 * 10 ** exponent(currency), currency).decimal_string()  # 25, 25.000
        raise ValidationError(f'expected an amount of 0 or more such as "{example}", found '
                              f"{text!r}")
    return money.minor


class PercentField(fields.Field):
    """A percentage 0-100 written as an integer or a quoted decimal ("12.5"); never a float."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(f'expected a percentage such as 10 or "12.5", found {value!r}')
        try:
            pct = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(f"expected a percentage such as 10, found {value!r}") from exc
        if not pct.is_finite() or not Decimal(0) <= pct <= Decimal(100):
            raise ValidationError(f"expected a percentage between 0 and 100, found {value!r}")
        return pct


class DaysField(fields.Field):
    """A number of days (0 or more) or the word ``unlimited`` (returned as None)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value == "unlimited":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f'expected a whole number of days (0 or more) or "unlimited", '
                                  f"found {value!r}")
        return value


class TextsField(fields.Field):
    """A merchant's text: one string (in the shop's language), or a mapping of language codes
    (``en``, ``de``; case ignored) to that text in each; returned as ``((code, text), …)``, a
    plain string under the code ``""``. At most ``longest`` characters each."""

    def __init__(self, longest: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.longest = longest

    def _deserialize(self, value: Any, attr: Any, data: Any,
                     **kwargs: Any) -> tuple[tuple[str, str], ...]:
        given = {"": value} if isinstance(value, str) else value
        if not isinstance(given, dict):
            raise ValidationError(f"expected text, or a mapping of languages to text (such as "
                                  f"{{en: ..., de: ...}}), found {value!r}")
        out: dict[str, str] = {}
        for code, text in given.items():
            if code and not (isinstance(code, str) and re.fullmatch(r"[A-Za-z]{2,3}", code)):
                raise ValidationError(f"expected language codes such as en or de as keys, "
                                      f"found {code!r}")
            if not isinstance(text, str):
                raise ValidationError(f"{code or 'the text'}: expected text, found {text!r}")
            if len(text) > self.longest:
                raise ValidationError(f"{code or 'the text'}: at most {self.longest} "
                                      f"characters, found {len(text)}")
            if text.strip():
                out[code.lower()] = text.strip()
        return tuple(out.items())


class ChoiceField(fields.String):
    """One of ``values``: anything else (a misspelling, or YAML's ``no`` read as false) names
    the choices and what was found, with a did-you-mean for a close one."""

    def __init__(self, values: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = values

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            close = difflib.get_close_matches(value, self.values, n=1) \
                if isinstance(value, str) else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(f"expected one of {', '.join(self.values)}, found "
                                  f"{value!r}{hint}")
        return value


def choice(values: list[str]) -> fields.String:
    return ChoiceField(values)


ACTIONS = [a.value for a in p.Action]
KINDS = [k.value for k in ResolutionKind]
COUNT = validate.Range(min=0, error="expected a whole number of 0 or more, found {input}")
POSITIVE = validate.Range(min=1, error="expected a whole number of 1 or more, found {input}")
