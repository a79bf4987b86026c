"""Money as integer minor units plus an ISO 4217 currency; decimals only at the edges.

The exponent table follows Stripe's list of zero- and three-decimal currencies; every other
well-formed code has two decimals. Nothing here ever touches a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

ZERO_DECIMAL = frozenset([
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF"
])
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# two-decimal in Stripe's API, but Stripe takes only whole units of them (amounts divisible
# by 100, refunds included): ``refund_increment``
STRIPE_WHOLE_UNITS = frozenset(["ISK"])

# ISO 4217 active codes (2024). Unknown codes are refused at the edge rather than guessed at.
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)

_DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")


class CurrencyError(ValueError):
    """A currency code that is not an ISO 4217 code we know."""


class AmountError(ValueError):
    """An amount that cannot be represented exactly in its currency's minor units."""


def normalize_currency(code: str) -> str:
    """Upper-case a currency code and check it is a known ISO 4217 code."""
    if not isinstance(code, str):
        raise CurrencyError(f"currency must be a string, got {type(code).__name__}")
    upper = code.strip().upper()
    if upper not in ISO_4217:
        raise CurrencyError(f"unknown currency {code!r}: expected an ISO 4217 code such as USD")
    return upper


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (0, 2 or 3)."""
    cur = normalize_currency(currency)
    if cur in ZERO_DECIMAL:
        return 0
    if cur in THREE_DECIMAL:
        return 3
    return 2


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount: integer minor units of one currency (JPY 500 is ``Money(500, "JPY")``)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise AmountError(f"amount must be integer minor units, got {self.minor!r}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | Decimal | int, currency: str) -> Money:
        """Parse a decimal major-unit amount (``"12.50"``) exactly; refuse extra precision."""
        cur = normalize_currency(currency)
        exp = exponent(cur)
        if isinstance(text, bool):
            raise AmountError(f"not an amount: {text!r}")
        if isinstance(text, int):
            value = Decimal(text)
        elif isinstance(text, Decimal):
            value = text
        elif isinstance(text, str) and _DECIMAL_RE.match(text.strip()):
            try:
                value = Decimal(text.strip())
            except InvalidOperation as exc:  # pragma: no cover - regex already guards this
                raise AmountError(f"not a decimal amount: {text!r}") from exc
        else:
            raise AmountError(f"not a decimal amount: {text!r}")
        if not value.is_finite():
            raise AmountError(f"not a finite amount: {text!r}")
        scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise AmountError(f"{text} has more decimals than {cur} allows ({exp})")
        return cls(int(scaled), cur)

    # --- presentation -------------------------------------------------------------------------
    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def decimal_string(self) -> str:
        """The amount in major units with exactly the currency's decimals (``"12.50"``)."""
        exp = exponent(self.currency)
        sign = "-" if self.minor < 0 else ""
        digits = str(abs(self.minor))
        if exp == 0:
            return sign + digits
        digits = digits.rjust(exp + 1, "0")
        return f"{sign}{digits[:-exp]}.{digits[-exp:]}"

    def __str__(self) -> str:
        return f"{self.decimal_string()} {self.currency}"

    # --- arithmetic (same currency only) ------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"currency mismatch: {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def times(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise AmountError(f"quantity must be an integer, got {quantity!r}")
        return Money(self.minor * quantity, self.currency)

    def percent(self, pct: Decimal | int | str) -> Money:
        """``pct`` percent of this amount, rounded half-even to the minor unit."""
        share = (Decimal(self.minor) * Decimal(str(pct)) / Decimal(100)).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN
        )
        return Money(int(share), self.currency)

    def min(self, other: Money) -> Money:
        self._same(other)
        return self if self.minor <= other.minor else other

    def max(self, other: Money) -> Money:
        self._same(other)
        return self if self.minor >= other.minor else other

    def is_zero(self) -> bool:
        return self.minor == 0

    def is_positive(self) -> bool:
        return self.minor > 0


def stripe_amount(money: Money) -> int:
    """The integer Stripe accepts for a refund of ``money``.

    Stripe requires three-decimal currencies to be a multiple of 10 (docs.stripe.com/currencies).
    We round *down*, so a refund never exceeds what the decision granted; the caller records the
    amount actually sent.
    """
    step = refund_increment("stripe", money.currency)
    return (money.minor // step) * step


def refund_increment(provider: str, currency: str) -> int:
    """The smallest step (minor units) in which ``provider`` refunds ``currency``: Stripe takes
    three-decimal currencies in multiples of 10, and ISK (two-decimal in its API) in whole
    krónur, 100, refunds included (docs.stripe.com/currencies). A policy rounds down to it."""
    if provider == "stripe":
        cur = normalize_currency(currency)
        if cur in THREE_DECIMAL:
            return 10
        if cur in STRIPE_WHOLE_UNITS:
            return 100
    return 1


# Stripe's minimum charge per currency in minor units (docs.stripe.com/currencies); others are
# held to USD 0.50 in the account's settlement currency, not known before the charge: none here.
STRIPE_MINIMUM_CHARGE = {
    "USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50, "CZK": 1500,
    "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500, "INR": 50, "JPY": 50,
    "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50, "PLN": 200, "RON": 200, "SEK": 300,
    "SGD": 50, "THB": 1000,
}


def stripe_minimum_charge(currency: str) -> int | None:
    """The smallest amount Stripe charges in ``currency`` (minor units), where it is known."""
    return STRIPE_MINIMUM_CHARGE.get(normalize_currency(currency))


def written(minor: int, currency: str) -> str:
    """``minor`` as a person reads it (``"50.00 USD"``), for notes and reasons; a code that is
    no currency (a provider's odd payload) keeps its minor units, named as such."""
    try:
        return str(Money(minor, currency))
    except (CurrencyError, AmountError):
        return f"{minor} {currency} (minor units)"


def sum_money(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
