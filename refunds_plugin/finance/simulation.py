"""Replaying stored return decisions under a candidate policy, read-only.

Each return decision in the ledger keeps the facts and the request the policy saw (``facts`` and
``request`` columns, written by ``ledger.decisions.record_decision``). ``replay`` rebuilds them,
decides them again under another policy as of the same moment, and yields old next to new;
``Summary`` adds the comparisons up. Each decision is replayed on its own facts: an earlier
decision that would have gone differently does not change the facts a later one saw.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, and_, case, func, literal, or_, select, text

import policies
from refunds_plugin.domain.decision import Decision, Exchange
from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Outcome, Reason, ResolutionKind
from refunds_plugin.finance import stored
from refunds_plugin.finance.rows import parse_when, stored_exchange
from refunds_plugin.finance.stored import member as _member
from refunds_plugin.finance.stored import when as _when
from refunds_plugin.ledger.db import iso_time
from refunds_plugin.ledger.tables import decisions, return_figures

OUTCOMES = tuple(o.value for o in Outcome)
MAX_PROBLEMS = 20  # unreadable decisions named in a report; the rest are only counted


def facts_from_json(d: dict[str, Any]) -> OrderFacts:
    """OrderFacts from its JSON form (``ledger.decisions.facts_json``, or a hand-written case).

    Read in the same order as the fields, so a broken form fails with the same error; the parts
    mostly empty (payments beyond the first, quantities returned) skip their generators."""
    hist = dict(d.get("history") or {})
    hist["first_order_at"] = _when(hist.get("first_order_at"))
    payments = d.get("payments")
    returned = d.get("returned_quantities")
    return OrderFacts(
        order_id=str(d["order_id"]),
        currency=d["currency"],
        lines=tuple([OrderLine.from_dict(ln) for ln in d["lines"]]),
        shipping_amount=int(d.get("shipping_amount", 0)),
        total_amount=int(d.get("total_amount", 0)),
        customer=Customer(**(d.get("customer") or {})),
        paid_at=_when(d.get("paid_at")),
        fulfilled_at=_when(d.get("fulfilled_at")),
        delivered_at=_when(d.get("delivered_at")),
        payments=tuple([PaymentFacts(**p) for p in payments]) if payments else (),
        refund_increment=int(d.get("refund_increment", 1)),
        returned_quantities=tuple([(str(i), int(q)) for i, q in returned]) if returned else (),
        shipping_refunded=int(d.get("shipping_refunded", 0)),
        history=CustomerHistory(**hist),
        source=d.get("source", "storefront"),
        channel=d.get("channel"),
        can_charge=d.get("can_charge", True) is not False,  # a dry run's stored False
        can_label=d.get("can_label", True) is not False,  # a shop without a carrier's False
        return_opened=d.get("return_opened", True) is not False,  # no return address: False
    )


def request_from_json(d: dict[str, Any]) -> ReturnRequest:
    """ReturnRequest from its JSON form (``ledger.decisions.request_json``, or written by hand)."""
    prefer = d.get("preferred_resolution")
    return ReturnRequest(
        str(d.get("request_id", "request")),
        str(d["order_id"]),
        tuple([
            ReturnLine(str(rl["line_id"]), int(rl["quantity"]), _member(Reason, rl["reason"]),
                       Variant(**rl["exchange_for"]) if rl.get("exchange_for") else None)
            for rl in d["lines"]
        ]),
        _member(ResolutionKind, prefer) if prefer else None,
        d.get("comment") or "",
        _when(d.get("requested_at")),
        d.get("channel") or "storefront",
    )


@dataclass(slots=True)
class Comparison:
    """One stored decision next to what the candidate policy decides on the same facts. Never
    changed (not frozen only because that is slow: two are built for every request
    ``policy compare`` reads, and a frozen one costs several times as much to build)."""

    decision_id: str
    order_id: str
    request_id: str
    created_at: datetime
    currency: str
    old_outcome: str
    old_amount: int
    old_refund: int
    old_credit: int
    old_reason: str
    new: Decision | None  # None when the stored facts could not be rebuilt
    error: str | None = None
    old_fees: int = 0  # the stored decision's fees and credit bonus (``return_figures``)
    old_bonus: int = 0
    # ``replay_each(reuse=True)``: the policy is the one the decision was made under, so the
    # stored decision is its answer (``new`` stays None, nothing was decided again)
    reused: bool = False
    customer: str | None = None  # the decision's customer email
    old_exchange: str = ""  # how the stored decision's exchange settled ("": no exchange)
    old_swap: Exchange | None = None  # that exchange (its items: ``insights.compare``)

    @property
    def new_exchange(self) -> str:
        ex = self.new.exchange if self.new else None
        return ex.settled_as if ex is not None else ""

    @property
    def new_outcome(self) -> str | None:
        return self.new.outcome.value if self.new else None

    @property
    def new_fees(self) -> int:
        return sum(f.amount for f in self.new.fees) if self.new else 0

    @property
    def new_bonus(self) -> int:
        return sum(r.bonus for r in self.new.resolutions) if self.new else 0

    @property
    def changed(self) -> bool:
        """Outcome, money (fees and credit bonus too: what ``policy compare`` counts) or
        exchange differs (a different reason code alone is not a change)."""
        if self.new is None:
            return False
        return (self.old_outcome, self.old_amount, self.old_refund, self.old_credit,
                self.old_fees, self.old_bonus, self.old_exchange) != (
            self.new.outcome.value, self.new.amount, self.new.refund_amount,
            self.new.credit_amount, self.new_fees, self.new_bonus, self.new_exchange)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ids, when, and the outcome and money before and after."""
        new = self.new
        return {
            "decision_id": self.decision_id, "order_id": self.order_id,
            "request_id": self.request_id, "decided_at": iso_time(self.created_at),
            "currency": self.currency,
            "before": {"outcome": self.old_outcome, "amount": self.old_amount,
                       "refund_amount": self.old_refund, "credit_amount": self.old_credit,
                       "fees": self.old_fees, "bonus": self.old_bonus,
                       "reason_code": self.old_reason, "exchange": self.old_exchange},
            "after": None if new is None else {
                "outcome": new.outcome.value, "amount": new.amount,
                "refund_amount": new.refund_amount, "credit_amount": new.credit_amount,
                "fees": self.new_fees, "bonus": self.new_bonus,
                "reason_code": new.reason_code, "exchange": self.new_exchange},
            "error": self.error,
        }


def _period(query: Select[Any], since: datetime | None, until: datetime | None) -> Select[Any]:
    query = query.where(decisions.c.kind == "return")
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    return query


def count_returns(engine: Engine, since: datetime | None, until: datetime | None) -> int:
    with engine.connect() as conn:
        query = _period(select(func.count()).select_from(decisions), since, until)
        return int(conn.execute(query).scalar_one())


@contextmanager
def _read_only(engine: Engine) -> Iterator[Connection]:
    """A connection that the database itself refuses to write through; never committed."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        txn = conn.begin()
        try:
            if sqlite:
                conn.exec_driver_sql("PRAGMA query_only = ON")
            else:
                conn.execute(text("SET TRANSACTION READ ONLY"))
                # the replay hashes every decision's figures (a row per return) to join them:
                # room for that in memory rather than spilling every decision read to disk
                # (bench/README.md, "policy compare reads less and waits less")
                conn.execute(text("SET LOCAL work_mem = '64MB'"))
            yield conn
        finally:
            txn.rollback()
            if sqlite:  # the pragma outlives the transaction on a pooled connection
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.rollback()


def replay(
    engine: Engine,
    policy: policies.Policy,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    batch: int = 500,
) -> Iterator[Comparison]:
    """Decide every stored return decision of the period again under ``policy``, oldest first.

    ``now`` is the request's ``requested_at`` when it has one, else the decision's
    ``created_at``, as the service did. Rows are streamed (``_stream``), never all in memory.
    """
    for one, in replay_each(engine, (policy,), since, until, limit, batch):
        yield one


def replay_each(
    engine: Engine,
    candidates: tuple[policies.Policy, ...],
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    batch: int = 500,
    reuse: bool = False,
    ordered: bool = True,
    explained: bool = True,
    worded: bool = True,
    exchanges: bool | tuple[str, ...] = True,
) -> Iterator[tuple[Comparison, ...]]:
    """``replay`` under several policies at once: each stored decision is read and rebuilt
    once, then decided under each policy in turn (``refunds policy compare``).

    ``reuse``: a policy with the content hash the decision was made under is not asked again
    (evaluation is pure: it would answer the same); its comparison is ``reused``, unless the
    recording transaction changed the policy's answer (``exceeds_refundable``).

    ``ordered=False`` streams the rows as the database stores them, without sorting every
    stored fact first (a million decisions: a sort of a gigabyte); ``limit`` needs the order.

    ``explained=False`` (``policy compare``, which reads outcomes and money only): each new
    decision comes without its explanation paragraph (``policies.evaluate(explained=False)``)
    and the stored JSON is read with orjson; every other field, and every error, is what
    ``explained=True`` gives (``tests/integration/insights/test_compare_fast_path.py``).
    ``worded=False`` (with ``explained=False``): each new decision comes without any words at
    all (``policies.evaluate(worded=False)``): its trace holds each rule's verdict and code only.
    ``exchanges=False``: the stored decision's body is not read, so ``old_exchange`` is ""
    (the body is the largest column, stored out of line: reading it was most of the database's
    time). A tuple of content hashes (``policy compare``): read only for a decision made under
    one of them, the only ones whose stored answer is reused (``reuse``).
    """
    c = decisions.c
    query = _period(  # the columns in the order ``_compare`` unpacks them
        select(c.id, c.order_id, c.request_key, c.created_at, c.currency, c.outcome, c.amount,
               c.refund_amount, c.credit_amount, c.reason_code, c.facts, c.request,
               c.policy_hash, c.customer_email,
               # only a body that names an exchange is read (``exchange_said``), so only such a
               # body is sent (LIKE may match more, never less: exchange_said checks again)
               (case((c.body.like('%"exchange":%'), c.body), else_="") if exchanges is True
                # one plain parameter per hash: ``_stream`` sends the statement as compiled,
                # where an expanding IN would not be rendered
                else case((and_(or_(*(c.policy_hash == h for h in exchanges)),
                                c.body.like('%"exchange":%')), c.body), else_="") if exchanges
                else literal("")).label("body"),
               func.coalesce(return_figures.c.fees, 0).label("fees"),
               func.coalesce(return_figures.c.bonus, 0).label("bonus"))
        .select_from(decisions.outerjoin(return_figures,
                                         return_figures.c.decision_id == c.id)),
        since, until,
    )
    if ordered or limit is not None:
        query = query.order_by(c.created_at, c.id)
    if limit is not None:
        query = query.limit(limit)
    with _read_only(engine) as conn:
        for row in _stream(conn, query, batch):
            yield _compare(candidates, row, reuse, explained, worded)


def _stream(conn: Connection, query: Select[Any], batch: int) -> Iterator[Any]:
    """The query's rows in batches, never all in memory. On psycopg with chunked rows (libpq
    17 and later) the server sends them without being asked for each batch, so it reads the
    next rows while this process decides on the last (a server-side cursor waits for each
    ``FETCH``; bench/README.md, "policy compare reads less and waits less"). Elsewhere, a
    server-side cursor (SQLite: a plain one)."""
    raw = conn.connection.dbapi_connection
    if conn.dialect.driver == "psycopg" and _chunked():
        compiled = query.compile(dialect=conn.dialect)
        # the statement and parameters as SQLAlchemy would send them (its psycopg dialect has
        # no bind processors for these columns' types: text, numbers, aware datetimes)
        with raw.cursor() as cur:  # type: ignore[union-attr]
            yield from cur.stream(str(compiled), compiled.construct_params(), size=batch)
        return
    yield from conn.execution_options(stream_results=True, yield_per=batch).execute(query)


def _chunked() -> bool:
    import psycopg  # noqa: PLC0415 - only with a PostgreSQL database

    capabilities = getattr(psycopg, "capabilities", None)  # psycopg 3.2 and later
    return capabilities is not None and bool(capabilities.has_stream_chunked())


def _rebuilt(facts: str, request: str) -> tuple[OrderFacts, ReturnRequest]:
    return facts_from_json(json.loads(facts)), request_from_json(json.loads(request))


def _rebuilt_fast(facts: str, request: str) -> tuple[OrderFacts, ReturnRequest]:
    """``_rebuilt`` with orjson (about three times faster), which accepts less than ``json``
    (no NaN, no integer past 64 bits): whatever it refuses is read again by ``_rebuilt``, so
    the facts, and any error, are the same."""
    try:
        return facts_from_json(orjson.loads(facts)), request_from_json(orjson.loads(request))
    except Exception:  # noqa: BLE001 - read again the plain way: the same answer or error
        return _rebuilt(facts, request)


def _rebuilt_light(facts: str, request: str) -> tuple[OrderFacts, ReturnRequest]:
    """``_rebuilt_fast`` as light twins (``finance/stored.py``), for an unworded decision: the
    same values; whatever that module does not read (or fails on) is read again the plain way,
    so the facts, and any error, are the same."""
    try:
        return stored.facts(orjson.loads(facts)), stored.request(orjson.loads(request))
    except Exception:  # noqa: BLE001 - read again the plain way: the same answer or error
        return _rebuilt_fast(facts, request)


def _compare(candidates: tuple[policies.Policy, ...], row: Any, reuse: bool = False,
             explained: bool = True, worded: bool = True) -> tuple[Comparison, ...]:
    # the row unpacked once, in ``replay_each``'s column order (cheaper than a name per read)
    (decision_id, order_id, request_key, created, currency, outcome, amount, refund, credit,
     reason_code, facts, request, policy_hash, customer, body, fees, bonus) = row
    created_at = parse_when(created)
    assert created_at is not None  # the column is NOT NULL
    keep = reuse and reason_code != "exceeds_refundable"
    same = [keep and pol.content_hash == policy_hash for pol in candidates]
    news: list[Decision | None] = [None] * len(candidates)
    error = None
    request_id = request_key.removeprefix("return:")
    try:
        if not all(same):
            facts_, request_ = (_rebuilt if explained else _rebuilt_fast if worded
                                else _rebuilt_light)(facts, request)
            request_id = request_.request_id
            at = request_.requested_at or created_at
            news = [None if kept else policies.evaluate(pol, facts_, request_, at,
                                                        explained=explained, worded=worded)
                    for pol, kept in zip(candidates, same, strict=True)]
    except (KeyError, TypeError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    # what the stored decision said, the same on every side: read once
    stored = (decision_id, order_id, request_id, created_at, currency, outcome, int(amount),
              int(refund), int(credit), reason_code)
    old_fees, old_bonus, (old_exchange, swap) = int(fees), int(bonus), stored_exchange(body)
    return tuple([Comparison(*stored, new, None if kept else error, old_fees, old_bonus, kept,
                             customer, old_exchange, swap)
                  for kept, new in zip(same, news, strict=True)])


@dataclass
class Summary:
    """Totals over a replay: outcome transitions and money approved, per currency."""

    replayed: int = 0
    changed: int = 0
    outcome_changed: int = 0
    unreadable: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    money_before: dict[str, int] = field(default_factory=dict)
    money_after: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (decision id, error)

    def add(self, cmp: Comparison) -> None:
        self.replayed += 1
        if cmp.new is None:
            self.unreadable += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append((cmp.decision_id, cmp.error or "unreadable"))
            return
        new_outcome = cmp.new.outcome.value
        self.transitions[(cmp.old_outcome, new_outcome)] += 1
        self.changed += cmp.changed
        self.outcome_changed += cmp.old_outcome != new_outcome
        before = cmp.old_amount if cmp.old_outcome == Outcome.APPROVE.value else 0
        after = cmp.new.amount if cmp.new.outcome is Outcome.APPROVE else 0
        self.money_before[cmp.currency] = self.money_before.get(cmp.currency, 0) + before
        self.money_after[cmp.currency] = self.money_after.get(cmp.currency, 0) + after

    def matrix(self) -> dict[str, dict[str, int]]:
        """``{before: {after: count}}`` over approve / review / decline."""
        return {old: {new: self.transitions[(old, new)] for new in OUTCOMES} for old in OUTCOMES}
