"""Machine-chosen bodies for every door that takes bytes from outside: ``/webhooks/storefront``,
``/webhooks/stripe``, ``/webhooks/saleor`` and the returns page's forms. Signed for real (with
the configured secrets) and unsigned; truncated; nested 1,000+ deep; huge, negative, float and
NaN numbers; integers of 19+ digits; duplicate keys; lone surrogates; non-ASCII signature
headers; wrong content types; quantities of 10^20. Never a 5xx; every refusal has the error
shape; and for anything refused, nothing is recorded (the tables are compared).

Fixed seeds (``derandomize``) and bounded examples keep CI deterministic and fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from refunds_plugin.ledger.tables import (
    decisions,
    events,
    ledger_entries,
    orders,
    refund_attempts,
    reviews,
)
from tests.fakes import (
    STOREFRONT_SECRET,
    STRIPE_SECRETS,
    Clock,
    Harness,
    order_paid,
    return_requested,
    stripe_event,
)
from tests.fakes.returns_client import field, open_form
from tests.fakes.returns_shop import ReturnsShop, order_event
from tests.fakes.saleor_api import API_URL, FakeSaleor
from tests.fakes.saleor_harness import SaleorHarness
from webhooks import signatures

pytestmark = pytest.mark.fuzz
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TABLES = (events, orders, decisions, refund_attempts, reviews, ledger_entries)
FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=60,
                suppress_health_check=list(HealthCheck))

# --- the values ----------------------------------------------------------------------------
odd_ints = st.one_of(
    st.integers(-10, 10), st.integers(min_value=10**18, max_value=10**40),
    st.integers(max_value=-(10**18)), st.sampled_from([2**63, 2**63 - 1, -(2**63), 10**20]))
odd_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from([1e308, -0.0, 2.5, 1e-320]))
odd_text = st.one_of(
    st.text(max_size=30), st.sampled_from(["\ud800", "a\udfffb", "\x00", "😀", "=1+2", "",
                                           "x" * 300, "USD", "usd", "XXX"]))
leaf = st.one_of(st.none(), st.booleans(), odd_ints, odd_floats, odd_text)
value = st.recursive(leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(odd_text, kids, max_size=3)), max_leaves=8)


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode("utf-8")


def _mutate(doc: Any, path: list[Any], new: Any) -> Any:
    """``doc`` with the value at ``path`` (keys or indexes, as far as they go) replaced."""
    if not path or not isinstance(doc, dict | list):
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        key = head if head in doc else (sorted(doc)[hash(str(head)) % len(doc)] if doc else head)
        return {**doc, key: _mutate(doc.get(key), rest, new)}
    if not doc:
        return [new]
    i = head % len(doc) if isinstance(head, int) else 0
    return [*doc[:i], _mutate(doc[i], rest, new), *doc[i + 1:]]


paths = st.lists(st.one_of(st.sampled_from(
    ["id", "type", "created", "data", "order", "return", "lines", "quantity", "unit_amount",
     "total_amount", "currency", "paid_at", "customer", "email", "payment", "amount", "reason",
     "line_id", "object", "amount_received", "status", "comment"]), st.integers(0, 3)),
    max_size=5)


def _deep(n: int) -> bytes:
    return b'{"id":"evt_deep","type":"order.paid","data":' + b"[" * n + b"]" * n + b"}"


EDGE_BODIES = [
    _deep(1_200), _deep(100_000), b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"id":"evt_1","id":"evt_2","type":"order.paid","type":"return.requested","data":{}}',
    b'{"id":"\\ud800","type":"order.paid","data":{}}', b"", b"{", b"[1,2]", b"null",
    b'{"id": "evt_x", "type": "order.paid", "data": {"order": NaN}}', b"\xff\xfe{}",
    _dump(order_paid(lines=[{"id": "l1", "sku": "", "name": "", "quantity": 10**20,
                             "unit_amount": 2500, "tags": []}])),
    _dump(order_paid(total=10**19)), _dump(order_paid(event_id="\ud800")),
    _dump(order_paid("1" * 19)), _dump(return_requested(lines=[
        {"line_id": "l1", "quantity": 10**20, "reason": "changed_mind"}])),
    _dump(return_requested(lines=[{"line_id": "l1", "quantity": 1.0, "reason": "damaged"}])),
    _dump({**order_paid(), "created": 10**25}),
]


def _counts(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in TABLES}


def _judge(resp: Any, before: dict[str, int], after: dict[str, int], what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.get_data()[:300]!r}"
    if resp.status_code >= 400:
        if resp.mimetype == "application/json":
            err = resp.get_json()["error"]
            assert isinstance(err["code"], str) and isinstance(err["message"], str)
        assert after == before, f"{what}: refused with {resp.status_code}, yet recorded"


# --- the storefront --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def storefront(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    db = tmp_path_factory.mktemp("fuzz") / "storefront.db"
    h = Harness(f"sqlite:///{db}", Clock(NOW))
    assert h.post_storefront(order_paid()).status_code == 200  # a known order to return from
    yield h
    h.close()


HEADERS = st.sampled_from(["signed", "signed", "signed", "unsigned", "wrong-secret",
                           "non-ascii", "huge-timestamp"])
TYPES = st.sampled_from(["application/json", "application/json", "text/plain",
                         "application/x-www-form-urlencoded", ""])


def _signature(how: str, secret: str, body: bytes, now: int) -> str | None:
    if how == "signed":
        return signatures.sign(secret, body, now)
    if how == "wrong-secret":
        return signatures.sign("whsec_wrong", body, now)
    if how == "non-ascii":
        return f"t={now},v1=ü{signatures.compute(secret, now, body)[1:]}"
    if how == "huge-timestamp":
        return f"t={'9' * 30},v1=ab"
    return None


def _storefront_post(h: Harness, body: bytes, how: str, ctype: str, cut: int | None) -> None:
    sent = body if cut is None else body[: cut % (len(body) + 1)]
    header = _signature(how, STOREFRONT_SECRET, sent, int(h.clock.timestamp()))
    headers = {"Content-Type": ctype} | ({"Refunds-Signature": header} if header else {})
    before = _counts(h.runtime.engine)
    resp = h.client().post("/webhooks/storefront", data=sent, headers=headers)
    _judge(resp, before, _counts(h.runtime.engine), f"storefront {sent[:120]!r}")


@pytest.mark.parametrize("body", EDGE_BODIES, ids=range(len(EDGE_BODIES)))
def test_storefront_edge_bodies_signed_never_5xx(storefront: Harness, body: bytes) -> None:
    _storefront_post(storefront, body, "signed", "application/json", None)


@FUZZ
@given(base=st.sampled_from(["paid", "return"]), path=paths, new=value, how=HEADERS,
       ctype=TYPES, cut=st.one_of(st.none(), st.integers(0, 2000)), n=st.integers(0, 10**6))
def test_storefront_bodies_never_5xx_and_refusals_record_nothing(
    storefront: Harness, base: str, path: list[Any], new: Any, how: str, ctype: str,
    cut: int | None, n: int,
) -> None:
    doc = (order_paid(f"f{n}", event_id=f"evt_f{n}") if base == "paid"
           else return_requested(f"r{n}", event_id=f"evt_r{n}"))
    _storefront_post(storefront, _dump(_mutate(doc, path, new)), how, ctype, cut)


# --- Stripe ---------------------------------------------------------------------------------
STRIPE_TYPES = st.sampled_from(["payment_intent.succeeded", "charge.succeeded", "charge.refunded",
                                "refund.created", "refund.updated", "refund.failed",
                                "charge.dispute.created", "payment_intent.payment_failed",
                                "customer.created"])


@FUZZ
@given(type_=STRIPE_TYPES, path=paths, new=value, how=HEADERS,
       cut=st.one_of(st.none(), st.integers(0, 600)), n=st.integers(0, 10**6))
def test_stripe_bodies_never_5xx_and_refusals_record_nothing(
    storefront: Harness, type_: str, path: list[Any], new: Any, how: str, cut: int | None,
    n: int,
) -> None:
    obj = {"id": f"re_{n}", "object": "refund", "amount": 2500, "amount_received": 5500,
           "currency": "usd", "status": "succeeded", "payment_intent": "pi_123",
           "charge": "ch_1", "metadata": {"order_id": "1001"}}
    doc = _mutate(stripe_event(f"evt_s{n}", type_, obj), ["data", "object", *path], new)
    body = _dump(doc)
    sent = body if cut is None else body[: cut % (len(body) + 1)]
    now = int(storefront.clock.timestamp())
    header = {"signed": lambda: stripe.WebhookSignature.generate_signature_header(
        sent.decode("utf-8", "replace"), STRIPE_SECRETS[0], now)}.get(
        how, lambda: _signature(how, STRIPE_SECRETS[0], sent, now))()
    if how == "signed" and sent.decode("utf-8", "replace").encode() != sent:
        header = _signature("signed", STRIPE_SECRETS[0], sent, now)
    headers = {"Content-Type": "application/json"} | (
        {"Stripe-Signature": header} if header else {})
    before = _counts(storefront.runtime.engine)
    resp = storefront.client().post("/webhooks/stripe", data=sent, headers=headers)
    _judge(resp, before, _counts(storefront.runtime.engine), f"stripe {sent[:120]!r}")


# --- Saleor ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saleor_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaleorHarness]:
    db = tmp_path_factory.mktemp("fuzz") / "saleor.db"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        clock = Clock(NOW)
        h = SaleorHarness(f"sqlite:///{db}", clock, FakeSaleor(mock, clock=clock))
        assert h.install().status_code == 200
        yield h
        h.close()


@settings(FUZZ, max_examples=40)
@given(event=st.sampled_from(["order_fully_paid", "order_updated", "order_refunded",
                              "product_created", "ÜBER", ""]),
       path=st.lists(st.sampled_from(["order", "id", "issuingPrincipal", "__typename",
                                      "number"]), max_size=3),
       new=value, how=st.sampled_from(["signed", "signed", "unsigned", "garbage", "non-ascii"]),
       cut=st.one_of(st.none(), st.integers(0, 400)))
def test_saleor_bodies_never_5xx_and_refusals_record_nothing(
    saleor_shop: SaleorHarness, event: str, path: list[str], new: Any, how: str,
    cut: int | None,
) -> None:
    doc = {"__typename": "OrderUpdated", "issuingPrincipal": None,
           "order": {"id": "T3JkZXI6MQ==", "number": "1001"}}
    body = _dump(_mutate(doc, path, new))
    sent = body if cut is None else body[: cut % (len(body) + 1)]
    sig = {"signed": saleor_shop.saleor.signed(sent), "unsigned": "",
           "garbage": "eyJhbGciOiJSUzI1NiJ9..c2ln", "non-ascii": "ä..ö"}[how]
    headers = {"Saleor-Event": event, "Saleor-Api-Url": API_URL,
               "Content-Type": "application/json"} | ({"Saleor-Signature": sig} if sig else {})
    before = _counts(saleor_shop.engine)
    resp = saleor_shop.client.post("/webhooks/saleor", data=sent, headers=headers)
    _judge(resp, before, _counts(saleor_shop.engine), f"saleor {event} {sent[:120]!r}")


# --- the returns page -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def returns_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReturnsShop]:
    db = tmp_path_factory.mktemp("fuzz") / "returns.db"
    clock = Clock(NOW)
    shop = ReturnsShop(f"sqlite:///{db}", clock, settings={
        "returns_lookup_limit_ip": "100000 per hour",
        "returns_lookup_limit_order": "100000 per hour"})
    shop.seed(order_event("1001"))
    yield shop
    shop.close()


quantities = st.one_of(st.sampled_from(["1", "2", "0", "-1", "1.5", "²", "١", "1e3", " 1",
                                        str(10**20), "9" * 400, "", "NaN", "\ud800"]),
                       st.text(max_size=6))


@settings(FUZZ, max_examples=50)
@given(qty=quantities, line=st.sampled_from(["l1", "l2", "l9", "", "\x00", "l1\ud800"]),
       reason=st.one_of(st.sampled_from(["damaged", "changed_mind", ""]), odd_text),
       step=st.sampled_from(["send", "quote", "edit", "", "ü"]),
       index=st.sampled_from(["0", "1", "9999", "00"]), extra=st.dictionaries(
           st.text(max_size=8), odd_text, max_size=2))
def test_returns_form_never_5xx_and_refusals_record_nothing(
    returns_shop: ReturnsShop, qty: str, line: str, reason: str, step: str, index: str,
    extra: dict[str, str],
) -> None:
    client = returns_shop.app.test_client()
    form = open_form(client)
    data = {**extra, "csrf_token": field(form, "csrf_token"),
            "form_token": field(form, "form_token"), f"line-{index}-id": line,
            f"line-{index}-qty": qty, f"line-{index}-reason": reason, "step": step}
    data = {k.encode("utf-8", "surrogatepass").decode("utf-8", "replace"):
            v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            for k, v in data.items()}
    before = _counts(returns_shop.runtime.engine)
    resp = client.post("/returns/order", data=data)
    _judge(resp, before, _counts(returns_shop.runtime.engine), f"returns form {data}")


@settings(FUZZ, max_examples=25)
@given(number=odd_text, email=odd_text, raw=st.binary(max_size=200))
def test_returns_lookup_never_5xx(returns_shop: ReturnsShop, number: str, email: str,
                                  raw: bytes) -> None:
    client = returns_shop.app.test_client()
    csrf = field(client.get("/returns"), "csrf_token")
    clean = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
             for k, v in {"order_number": number, "email": email}.items()}
    before = _counts(returns_shop.runtime.engine)
    resp = client.post("/returns", data={"csrf_token": csrf, **clean})
    _judge(resp, before, _counts(returns_shop.runtime.engine), f"lookup {clean}")
    raw_resp = client.post("/returns", data=raw,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw_resp.status_code < 500


def test_the_fuzz_saw_nan_and_big_numbers() -> None:
    """The strategies reach the values the issue names (a check on the test, not the app)."""
    assert math.isnan(json.loads(_dump({"x": float("nan")}))["x"])
    assert len(str(10**20)) == 21
