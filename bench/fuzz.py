"""Coverage-guided fuzzing (atheris) of what reads untrusted bytes before anything is recorded.

    python bench/fuzz.py signatures --minutes 30     # Stripe-scheme headers, Saleor JWS / HMAC
    python bench/fuzz.py payloads --minutes 30       # JSON bodies through every edge schema

Each harness feeds libFuzzer's bytes to the parsers and allows only the exceptions that become
a 4xx (SignatureError, PayloadError, marshmallow's ValidationError); anything else is a crash,
saved by libFuzzer as ``crash-*`` in ``--artifacts`` (default ``bench/fuzz-artifacts``) and
printed with its traceback. Not in CI: ``python3 -m pip install atheris`` first. Run it under
``nice`` on a shared machine. The last lines libFuzzer prints give the runs and coverage.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import traceback
from typing import Any

import atheris

# the libraries the parsers stand on, imported before instrumenting: only our own code (and
# marshmallow, which decides what a schema accepts) guides the fuzzer, and start-up stays short
import cryptography.hazmat.primitives.asymmetric.rsa  # noqa: F401
import flask  # noqa: F401
import jwt  # noqa: F401
import requests  # noqa: F401
import sqlalchemy  # noqa: F401
import sqlalchemy.dialects.postgresql  # noqa: F401
import sqlalchemy.dialects.sqlite  # noqa: F401

with atheris.instrument_imports():
    from marshmallow import ValidationError

    from refunds_plugin.errors import PayloadError, SignatureError
    from refunds_plugin.saleor import jws
    from refunds_plugin.saleor.events import order_reference
    from webhooks import signatures
    from webhooks.schemas import EnvelopeSchema, OrderDataSchema, ReturnDataSchema, parse_json
    from webhooks.stripe import OBJECT_SCHEMAS, EventSchema

SECRET = "whsec_fuzz"
NOW = 1_764_000_000.0
ALLOWED = (SignatureError, PayloadError, ValidationError)
ENVELOPE, ORDER_DATA, RETURN_DATA = EnvelopeSchema(), OrderDataSchema(), ReturnDataSchema()


def _static_keys() -> jws.JwksStore:
    """A JWKS with one real RSA key, so JWS headers get as far as the key and the signature."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk: dict[str, Any] = {**RSAAlgorithm.to_jwk(key, as_dict=True), "kid": "k1", "alg": "RS256"}
    keys = {"keys": [jwk]}
    return jws.JwksStore(fetch=lambda _url: keys)


def signatures_target(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 3)
    # a WSGI header is latin-1 text: any byte may arrive
    header = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400)).decode("latin-1")
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        if choice == 0:
            signatures.parse_header(header)
        elif choice == 1:
            signatures.verify(body, header, [SECRET], clock=lambda: NOW)
        elif choice == 2:
            jws.verify(header, body, "https://shop.example.com/graphql/", KEYS)
        else:
            jws.verify(header, body, "https://shop.example.com/graphql/", KEYS, "hmac-secret")
    except ALLOWED:
        pass


KEYS_SEEN = ["id", "type", "created", "data", "order", "return", "object", "lines", "line_id",
             "quantity", "unit_amount", "amount", "currency", "paid_at", "reason", "customer",
             "email", "payment", "provider", "reference", "total_amount", "shipping_amount",
             "amount_received", "status", "charge", "issuingPrincipal", "__typename", "comment"]
STRINGS_SEEN = ["order.paid", "return.requested", "USD", "JPY", "KWD", "refund",
                "changed_mind", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00", "stripe", "App",
                "payment_intent.succeeded", "charge.refunded", "refund.failed", "\ud800", ""]


def _value(fdp: Any, depth: int) -> Any:
    """A JSON value shaped like our payloads: the keys and words they use, odd numbers."""
    kind = fdp.ConsumeIntInRange(0, 9 if depth < 6 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12))  # up to 2**95 either way
    if kind == 3:
        return fdp.ConsumeRegularFloat()
    if kind == 4:
        return fdp.PickValueInList(STRINGS_SEEN)
    if kind == 5:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40))
    if kind in (6, 7):
        return {fdp.PickValueInList(KEYS_SEEN): _value(fdp, depth + 1)
                for _ in range(fdp.ConsumeIntInRange(0, 6))}
    return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]


BIGINT = 2**63


def storable(value: Any) -> None:
    """What a schema lets through must fit the tables: integers in a BIGINT, text in UTF-8."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        for k, v in value.items():
            storable(k)
            storable(v)
    elif isinstance(value, list | tuple):
        for v in value:
            storable(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        assert -BIGINT <= value < BIGINT, f"integer {value} does not fit a BIGINT column"
    elif isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate raises here


def payloads_target(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 4)
    if fdp.ConsumeBool():  # structured: a document of our own keys, serialised
        doc = {k: _value(fdp, 0) for k in ("id", "type", "data")}
        doc.update({fdp.PickValueInList(KEYS_SEEN): _value(fdp, 1)
                    for _ in range(fdp.ConsumeIntInRange(0, 3))})
        body = json.dumps(doc, ensure_ascii=fdp.ConsumeBool()).encode("utf-8", "surrogatepass")
    else:  # raw bytes: truncations, bad UTF-8, deep nesting
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        doc = parse_json(body)
        if choice == 0:
            envelope = ENVELOPE.load(doc)
            storable({k: v for k, v in envelope.items() if k != "data"})
        elif choice == 1:
            storable(ORDER_DATA.load(
                doc.get("data") if isinstance(doc.get("data"), dict) else doc))
        elif choice == 2:
            storable(RETURN_DATA.load(
                doc.get("data") if isinstance(doc.get("data"), dict) else doc))
        elif choice == 3:
            EventSchema().load(doc)  # data is kept as the raw text, not in columns
            obj = doc.get("data") if isinstance(doc.get("data"), dict) else doc
            for schema in OBJECT_SCHEMAS.values():
                try:  # only the fields the handlers read are stored in columns
                    loaded = schema().load(obj)
                    storable({k: v for k, v in loaded.items() if k in schema._declared_fields})
                except ValidationError:
                    pass
        else:
            storable(order_reference(doc))
    except ALLOWED:
        pass


KEYS: jws.JwksStore


def _keep_going(target: Any, artifacts: str, harness: str) -> Any:
    """Save each new kind of crash (exception type and where it was raised) with its input and
    traceback under ``artifacts``, print a ``CRASH`` line for it, and go on fuzzing."""
    seen: dict[str, int] = {}

    def run(data: bytes) -> None:
        try:
            target(data)
        except Exception as exc:  # noqa: BLE001 - every crash is recorded, none stops the run
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {tb.filename}:{tb.lineno}"
            seen[kind] = seen.get(kind, 0) + 1
            if seen[kind] == 1:
                name = hashlib.sha1(kind.encode()).hexdigest()[:12]
                with open(f"{artifacts}/{harness}-crash-{name}.bin", "wb") as fh:
                    fh.write(data)
                with open(f"{artifacts}/{harness}-crash-{name}.txt", "w") as fh:
                    fh.write(kind + "\n" + "".join(traceback.format_exception(exc)))
                print(f"CRASH (new kind) {kind}: {exc!r}"[:500], flush=True)

    return run  # libFuzzer ends the process without atexit: each new kind is printed above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("harness", choices=["signatures", "payloads"])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--artifacts", default="bench/fuzz-artifacts")
    parser.add_argument("--corpus", default=None, help="a corpus directory to read and grow")
    parser.add_argument("--stop-on-crash", action="store_true",
                        help="stop at the first crash (libFuzzer's way); by default each new "
                             "kind of crash is saved and the run goes on")
    args, rest = parser.parse_known_args()
    global KEYS
    KEYS = _static_keys()
    os.makedirs(args.artifacts, exist_ok=True)
    argv = [sys.argv[0], f"-max_total_time={int(args.minutes * 60)}",
            f"-artifact_prefix={args.artifacts}/{args.harness}-", "-print_final_stats=1",
            "-max_len=4096", *rest]
    if args.corpus:
        os.makedirs(args.corpus, exist_ok=True)
        argv.append(args.corpus)
    target = signatures_target if args.harness == "signatures" else payloads_target
    if not args.stop_on_crash:
        target = _keep_going(target, args.artifacts, args.harness)
    atheris.Setup(argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
