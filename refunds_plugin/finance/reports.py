"""Reading the ledger for people: recent decisions, filtered pages, one decision in full, and
a streaming export. The shape of one decision's row is in ``rows``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)

from refunds_plugin.domain.kinds import WAITING, AttemptStatus
from refunds_plugin.finance import amounts, spreadsheet
from refunds_plugin.finance.rows import (
    ATTEMPT_CHOICES,
    CSV_COLUMNS,
    DECISION_CHOICES,
    DECISION_MONEY,
    DRY_RUN,
    DRYRUN_PROVIDER,
    TEST_MODE,
    attempt_providers,
    attempt_statuses,
    bounds,
    check_choices,
    decision_row,
    plain,
    review_rows,
    shown_status,
)
from refunds_plugin.finance.told import exported
from refunds_plugin.ledger.exchange_dues import refund_of
from refunds_plugin.ledger.tables import (
    decisions,
    events,
    exchanges,
    ledger_entries,
    refund_attempts,
    reviews,
)
from refunds_plugin.money import Money


def recent_decisions(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    newest = select(decisions).order_by(decisions.c.created_at.desc(), decisions.c.id)
    with engine.connect() as conn:
        return _rows(conn, conn.execute(newest.limit(limit)).all())


def _rows(conn: Connection, decs: Sequence[Any]) -> list[dict[str, Any]]:
    """The ``rows.decision_row`` of each of ``decs``, with its attempts, review and the
    explanation as finance reads it (``told.exported``)."""
    ids = [d.id for d in decs]
    statuses, reviewed = attempt_statuses(conn, ids), review_rows(conn, ids)
    providers = attempt_providers(conn, ids)
    return [decision_row(d, statuses.get(d.id, []), reviewed.get(d.id),
                         exported(d, providers.get(d.id, []))) for d in decs]


def decisions_starting(engine: Engine, start: str, shown: int = 5) -> tuple[int, list[str]]:
    """How many decision ids start with ``start``, and the first ``shown`` of them in order
    (``ledger list`` shows eight characters; a command taking an id accepts them)."""
    found = decisions.c.id.startswith(start, autoescape=True)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).where(found)).scalar_one()
        ids = conn.execute(select(decisions.c.id).where(found).order_by(decisions.c.id)
                           .limit(shown)).scalars().all()
    return int(total), list(ids)


def iter_decisions(
    engine: Engine, since: datetime | None, until: datetime | None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Stream decisions in created order with a server-side cursor; memory stays flat."""
    query = select(decisions).order_by(decisions.c.created_at, decisions.c.id)
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    return _decision_rows(engine, query, batch)


def stream_decisions(
    engine: Engine, filters: Mapping[str, str], batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every decision the filters match, newest first as ``find_decisions`` pages them, read
    ``batch`` at a time from a server-side cursor. The filters are read now (a bad one raises
    ``InputError`` before the first row), the rows as they are taken."""
    query = decision_query(filters).order_by(decisions.c.created_at.desc(), decisions.c.id)
    return _decision_rows(engine, query, batch)


def _decision_rows(engine: Engine, query: Select[Any], batch: int) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn, engine.connect() as side:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for chunk in result.partitions(batch):
            yield from _rows(side, chunk)


def count_decisions(engine: Engine, since: datetime | None, until: datetime | None) -> int:
    query = select(func.count()).select_from(decisions)
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def export_decisions(
    engine: Engine,
    out: IO[str],
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every decision in the period; ``progress(n)`` is told about each 1,000 rows. The
    CSV adds the money columns in major units (``rows.CSV_COLUMNS``); JSON lines keep the
    integers."""
    count = 0
    writer = spreadsheet.DictWriter(out, fieldnames=CSV_COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in iter_decisions(engine, since, until):
        if writer:
            writer.writerow(amounts.with_major(plain(row), DECISION_MONEY))
        else:
            out.write(json.dumps(plain(row), sort_keys=True) + "\n")
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(1000)
    if progress is not None and count % 1000:
        progress(count % 1000)
    return count


# --- filtered, paginated reads for the finance pages and API -------------------------------------

@dataclass(frozen=True)
class LedgerCounts:
    """What the ledger holds, counted: the ``/metrics`` counters that must agree across
    processes and hosts, so they are read from the database at scrape time."""

    events: list[tuple[str, str, int]]  # (source, type, count)
    decisions: list[tuple[str, int]]  # (outcome, count)
    attempts: dict[str, int]  # status -> count


def ledger_counts(engine: Engine) -> LedgerCounts:
    with engine.connect() as conn:
        ev = conn.execute(
            select(events.c.source, events.c.type, func.count())
            .group_by(events.c.source, events.c.type)
        ).all()
        dec = conn.execute(
            select(decisions.c.outcome, func.count()).group_by(decisions.c.outcome)
        ).all()
        ra = refund_attempts.c
        att = conn.execute(
            select(ra.status, ra.provider, ra.livemode, func.count())
            .group_by(ra.status, ra.provider, ra.livemode)
        ).all()
    by_status: dict[str, int] = {}
    for s, provider, livemode, n in att:  # as finance says: dry_run, test_mode
        shown = shown_status(s, provider, livemode)
        by_status[shown] = by_status.get(shown, 0) + int(n)
    return LedgerCounts(
        [(s, t, int(n)) for s, t, n in ev],
        [(o, int(n)) for o, n in dec],
        by_status,
    )


MAX_PER_PAGE = 200
DECISION_FILTERS = (
    "since", "until", "outcome", "resolution", "status", "customer", "order", "rule", "exchange",
)  # fmt: skip
ATTEMPT_FILTERS = ("since", "until", "status", "kind", "provider", "customer", "order")


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    page: int
    per_page: int
    has_next: bool


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _trimmed(filters: Mapping[str, str]) -> dict[str, str]:
    """The filters without the spaces around each value: ``review `` is ``review``, checked
    and matched alike, never a quietly empty list."""
    return {k: (v or "").strip() for k, v in filters.items()}


def _page_args(page: int, per_page: int) -> tuple[int, int]:
    return max(1, page), min(MAX_PER_PAGE, max(1, per_page))


def decision_query(filters: Mapping[str, str]) -> Select[Any]:
    """``select(decisions)`` narrowed by the filters finance uses; empty ones ignored, a value
    an enumerated filter cannot have refused (``rows.check_choices``). A value is read without
    the spaces around it, as the pages take it."""
    filters = _trimmed(filters)
    check_choices(filters, DECISION_CHOICES)
    d = decisions.c
    query = select(decisions)
    since, until = bounds(filters)
    if since:
        query = query.where(d.created_at >= since)
    if until:
        query = query.where(d.created_at < until)
    # the resolution finally decided: an admin's change on approval, else the policy's
    changed = select(reviews.c.adjusted_resolution).where(reviews.c.decision_id == d.id)
    resolution = func.coalesce(changed.scalar_subquery(), d.resolution)
    for name, column in (("outcome", d.outcome), ("resolution", resolution),
                         ("order", d.order_id)):
        if filters.get(name):
            query = query.where(column == filters[name])
    if customer := (filters.get("customer") or "").strip():
        query = query.where(
            or_(func.lower(d.customer_email) == customer.lower(), d.customer_id == customer)
        )
    if rule := (filters.get("rule") or "").strip():
        query = query.where(or_(
            d.reason_code == rule,
            d.body.like(f'%"rule":"{_like(rule)}"%', escape="\\"),
            d.body.like(f'%"code":"{_like(rule)}"%', escape="\\"),
        ))
    if status := filters.get("status"):
        query = query.where(money_status_sql() == status)
    if swapped := filters.get("exchange"):
        has = exists().where(exchanges.c.decision_id == d.id)
        query = query.where(has if swapped == "yes" else ~has)
    return query


def money_status_sql() -> ColumnElement[str]:
    """Each decision's ``rows.money_status`` as SQL, over the attempts that speak for it:
    a failed attempt that a later one of the same decision replaced (its journal entry's
    ``retry_of``), nor a replacement canceled because the attempt it replaced succeeded late,
    do not (as ``ledger.attempt_reads.silent_attempts`` reads them)."""
    a = refund_attempts.alias("a")
    later = refund_attempts.alias("later")
    le = ledger_entries.c
    replaced = exists().where(
        later.c.decision_id == a.c.decision_id,
        le.subject_id == later.c.id,  # indexed
        le.entry_type == "attempt",
        # the canonical JSON (chain.canonical) of a uuid id: no spaces, no LIKE wildcards
        le.body.like('%"retry_of":"' + a.c.id + '"%'),
    )
    # a replacement canceled because the attempt it replaced succeeded late (retry_of it)
    origin = refund_attempts.alias("origin")
    late = exists().where(
        le.subject_id == a.c.id,  # indexed
        le.entry_type == "attempt",
        origin.c.decision_id == a.c.decision_id,
        origin.c.status == AttemptStatus.SUCCEEDED,
        le.body.like('%"retry_of":"' + origin.c.id + '"%'),
    )
    live = and_(
        a.c.decision_id == decisions.c.id,
        or_(a.c.status != AttemptStatus.FAILED, ~replaced),
        or_(a.c.status != AttemptStatus.CANCELED, ~late),
    )

    def has(*statuses: str) -> ColumnElement[bool]:
        return exists().where(live, a.c.status.in_(statuses))

    # the status as finance reads it (rows.shown_status): a dry run's success is dry_run, one
    # in Stripe's test mode test_mode
    succeeded = a.c.status == AttemptStatus.SUCCEEDED
    shown = case(
        (and_(a.c.provider == DRYRUN_PROVIDER, succeeded), DRY_RUN),
        (and_(a.c.livemode.is_(False), succeeded), TEST_MODE),
        else_=a.c.status,
    )
    kinds = select(func.count(shown.distinct())).where(live).scalar_subquery()
    only = select(func.min(shown)).where(live).scalar_subquery()
    return case(
        (~exists().where(live), "none"),
        (kinds == 1, only),
        (has(AttemptStatus.UNKNOWN), AttemptStatus.UNKNOWN.value),
        (has(AttemptStatus.FAILED), AttemptStatus.FAILED.value),
        (has(*WAITING), AttemptStatus.PENDING.value),
        else_="mixed",
    )


def find_decisions(
    engine: Engine, filters: Mapping[str, str], page: int = 1, per_page: int = 50
) -> Page:
    page, per_page = _page_args(page, per_page)
    query = (
        decision_query(filters)
        .order_by(decisions.c.created_at.desc(), decisions.c.id)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        out = _rows(conn, rows[:per_page])
    return Page(out, page, per_page, len(rows) > per_page)


ATTEMPT_COLUMNS = [
    "id", "decision_id", "order_id", "provider", "kind", "currency", "amount", "bonus",
    "sent_amount", "amount_text", "payment_reference", "customer_email", "status",
    "provider_reference", "credit_code", "tries", "last_error", "created_at", "completed_at",
    "livemode",  # the provider's mode: false is Stripe's test mode, null not known (before 0025)
    "gives_back",  # which money: the sale's, or an exchange's payment or label fee given back
]  # fmt: skip
# minor units; the CSV adds each in major units after all the others (``bonus_decimal``…)
ATTEMPT_MONEY = ("amount", "bonus", "sent_amount")
# livemode and gives_back came later: in a CSV after every earlier column, so none of those moves
ATTEMPT_CSV_COLUMNS = [*amounts.columns(ATTEMPT_COLUMNS[:-2], ATTEMPT_MONEY), *ATTEMPT_COLUMNS[-2:]]


def attempt_query(filters: Mapping[str, str]) -> Select[Any]:
    """The attempts the filters match, newest first; a value an enumerated filter cannot have
    is refused (``rows.check_choices``); values are read without the spaces around them."""
    filters = _trimmed(filters)
    check_choices(filters, ATTEMPT_CHOICES)
    a = refund_attempts.c
    query = select(
        a.id, a.decision_id, a.order_id, a.provider, a.kind, a.currency, a.amount, a.bonus,
        a.sent_amount, a.payment_reference, a.customer_email, a.status, a.provider_reference,
        a.credit_code, a.tries, a.last_error, a.created_at, a.completed_at, a.livemode, a.seq)
    since, until = bounds(filters)
    if since:
        query = query.where(a.created_at >= since)
    if until:
        query = query.where(a.created_at < until)
    for name, column in (("kind", a.kind), ("provider", a.provider), ("order", a.order_id)):
        if filters.get(name):
            query = query.where(column == filters[name])
    if status := filters.get("status"):  # as shown: a dry run's or test mode's success apart
        succeeded = a.status == AttemptStatus.SUCCEEDED
        dry = and_(a.provider == DRYRUN_PROVIDER, succeeded)
        test = and_(a.provider != DRYRUN_PROVIDER, a.livemode.is_(False), succeeded)
        apart = {DRY_RUN: dry, TEST_MODE: test}
        query = query.where(apart[status] if status in apart
                            else and_(a.status == status, ~dry, ~test))
    if customer := (filters.get("customer") or "").strip():
        query = query.where(
            or_(func.lower(a.customer_email) == customer.lower(), a.customer_id == customer)
        )
    return query.order_by(a.created_at.desc(), a.id)


def _attempt_row(found: Any) -> dict[str, Any]:
    row = dict(found._mapping)
    row["amount_text"] = str(Money(int(row["amount"]) + int(row["bonus"] or 0), row["currency"]))
    row["status"] = shown_status(row["status"], row["provider"], row["livemode"])
    row["gives_back"] = refund_of(int(row.pop("seq")))  # ``exchange_dues.refund_of``
    return row


def find_attempts(
    engine: Engine, filters: Mapping[str, str], page: int = 1, per_page: int = 50
) -> Page:
    page, per_page = _page_args(page, per_page)
    query = attempt_query(filters).limit(per_page + 1).offset((page - 1) * per_page)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return Page([_attempt_row(r) for r in rows[:per_page]], page, per_page, len(rows) > per_page)


def stream_attempts(
    engine: Engine, filters: Mapping[str, str], batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every attempt the filters match, newest first as ``find_attempts`` pages them, read
    ``batch`` at a time from a server-side cursor; the filters are read now."""
    query = attempt_query(filters)

    def rows() -> Iterator[dict[str, Any]]:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            for found in result:
                yield _attempt_row(found)

    return rows()
