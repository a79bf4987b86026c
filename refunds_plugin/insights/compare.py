"""Two policies side by side over the same history (``refunds policy compare`` and the finance
page), read-only: the live policy is never changed.

Every stored return decision of the period is decided again under CURRENT and under CANDIDATE
by ``finance/simulation.replay_each`` (the replay ``refunds policy simulate`` makes, so each
side agrees with ``simulate`` decision by decision). When CURRENT is the very policy a decision
was made under (same content hash) and the recording transaction did not change it, the stored
decision *is* CURRENT's answer and is not decided again.

For each side: how many were decided without a person (approved or declined), the money out of
approved decisions (refund, store credit, its bonus) and their fees, per currency, and the
declines; a decision *differs* when its outcome, money or exchange (how its price difference
settles: waived, charged, refunded) does, as ``policy simulate`` counts a change. A customer
gets a *worse answer* under CANDIDATE when the outcome drops (approve →
review → decline), or both approve and the candidate gives less money in all, or less of it back
to the payment: store credit, even with a bonus on top, is not money back (it is spent only
here), so a refund turned into credit is a worse answer.

An exchange is judged by the items the customer asked for (``worse``), both sides approving:
* an item exchanged before and not after (a refund or credit instead, or no exchange for that
  line) is worse, whatever the money: the customer asked for that item, not its value;
* the same items, and the customer pays more for a dearer item's difference (less waived) is
  worse; otherwise the money decides, as above (a cheaper item's difference back as credit
  instead of a refund is worse);
* an item exchanged after and not before is no worse answer: the customer gets what they asked
  for (what they pay for a dearer one is what they agreed to), though its money back drops.
The CSV names each side's exchange: how it settled, its items and what the customer pays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

import policies
from refunds_plugin.domain.decision import Exchange
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.errors import InputError
from refunds_plugin.finance import amounts
from refunds_plugin.finance.simulation import Comparison, replay_each
from refunds_plugin.insights.reasons import rate_bp
from refunds_plugin.language.catalogue import english
from refunds_plugin.ledger.db import iso_time

RANK = {"approve": 2, "review": 1, "decline": 0}
MAX_LISTED = 200  # worse answers listed in a report; all of them are in the CSV
_FIRST_COLUMNS = [
    "decision_id", "order_id", "customer", "decided_at", "currency",
    "current_outcome", "current_refund", "current_credit", "current_bonus", "current_fees",
    "candidate_outcome", "candidate_refund", "candidate_credit", "candidate_bonus",
    "candidate_fees", "worse", "error",
]  # fmt: skip
# minor units; each also in major units (``current_refund_decimal``…) after all the others, as
# every finance CSV with amounts writes them (``finance.amounts``)
CSV_MONEY = tuple(f"{side}_{part}" for side in ("current", "candidate")
                  for part in ("refund", "credit", "bonus", "fees"))
# each side's exchange ("" for none): how its difference settled (``Exchange.settled_as``), the
# new items (``1 SKU-X; 2 SKU-Y``) and what the customer pays for a dearer one; added later,
# after every earlier column (its ``_decimal`` too), so none of those moves
EXCHANGE_PARTS = ("exchange", "exchange_items", "exchange_charge")
_EXCHANGE_COLUMNS = [f"{side}_{part}" for side in ("current", "candidate")
                     for part in EXCHANGE_PARTS]
EXCHANGE_MONEY = ("current_exchange_charge", "candidate_exchange_charge")
CSV_COLUMNS = [*amounts.columns(_FIRST_COLUMNS, CSV_MONEY),
               *amounts.columns(_EXCHANGE_COLUMNS, EXCHANGE_MONEY)]


@dataclass(slots=True)
class Answer:
    """One side's answer to one request: outcome and money (credit without its bonus). Never
    changed (not frozen only because that is slow, as ``Comparison``)."""

    outcome: str
    refund: int
    credit: int
    bonus: int
    fees: int
    exchange: str = ""  # how an exchange settles (``Exchange.settled_as``), "" for none
    items: str = ""  # the new items an exchange sends (``swapped_items``), "" for none
    charge: int = 0  # what the customer pays for a dearer item's difference

    @property
    def total(self) -> int:
        return self.refund + self.credit + self.bonus


def swapped_items(ex: Exchange | None) -> str:
    """``1 SKU-X; 2 SKU-Y``: the new items of an exchange, by the line they replace ("" none)."""
    if ex is None:
        return ""
    return "; ".join(f"{ln.quantity} {ln.sku}" for ln in sorted(
        ex.lines, key=lambda ln: (ln.line_id, ln.sku)))


def _stored(c: Comparison) -> Answer:
    ex = c.old_swap
    return Answer(c.old_outcome, c.old_refund, c.old_credit - c.old_bonus, c.old_bonus,
                  c.old_fees, c.old_exchange, swapped_items(ex), ex.charge if ex else 0)


def _new(c: Comparison) -> Answer | None:
    d = c.new
    if d is None:
        return None
    # ``d.refund_amount``, ``d.credit_amount`` and the bonus in one loop, no generator
    refund = credit = bonus = fees = 0
    for r in d.resolutions:
        bonus += r.bonus
        if r.kind is ResolutionKind.REFUND:
            refund += r.amount
        elif r.kind is ResolutionKind.CREDIT:
            credit += r.total
    for f in d.fees:
        fees += f.amount
    ex = d.exchange
    return Answer(d.outcome.value, refund, credit - bonus, bonus, fees,
                  ex.settled_as if ex is not None else "", swapped_items(ex),
                  ex.charge if ex is not None else 0)


def worse(before: Answer, after: Answer) -> bool:
    """Whether ``after`` is a worse answer for the customer than ``before`` (the module's
    docstring says what counts, an exchange's items included)."""
    if RANK[after.outcome] != RANK[before.outcome]:
        return RANK[after.outcome] < RANK[before.outcome]
    if after.outcome != "approve":
        return False
    if before.items != after.items:
        had, has = set(before.items.split("; ")), set(after.items.split("; "))
        # an item asked for and exchanged before, not after: worse; only gained: no worse
        return bool(before.items) and not had <= has
    if after.charge > before.charge:  # the same items, dearer for the customer
        return True
    return after.total < before.total or after.refund < before.refund


@dataclass
class Side:
    decided: int = 0
    without_person: int = 0
    declines: int = 0
    reviews: int = 0
    money: dict[str, dict[str, int]] = field(default_factory=dict)  # currency -> figure

    def add(self, a: Answer, currency: str) -> None:
        self.decided += 1
        self.without_person += a.outcome != "review"
        self.declines += a.outcome == "decline"
        self.reviews += a.outcome == "review"
        if a.outcome == "approve":
            got = self.money.get(currency)
            if got is None:
                got = self.money[currency] = dict.fromkeys(("refund", "credit", "bonus", "fees"),
                                                           0)
            got["refund"] += a.refund
            got["credit"] += a.credit
            got["bonus"] += a.bonus
            got["fees"] += a.fees

    def to_json(self) -> dict[str, Any]:
        return {"decided": self.decided, "without_person": self.without_person,
                "without_person_bp": rate_bp(self.without_person, self.decided),
                "declines": self.declines, "reviews": self.reviews,
                "money": [{"currency": cur, **m} for cur, m in sorted(self.money.items())]}


@dataclass(slots=True)
class Row:
    """A request's two answers (never changed; not frozen only because that is slow)."""

    comparison: Comparison
    current: Answer | None
    candidate: Answer | None

    @property
    def worse(self) -> bool:
        return self.current is not None and self.candidate is not None and worse(
            self.current, self.candidate)

    @property
    def differs(self) -> bool:
        return self.current != self.candidate

    def to_csv(self) -> dict[str, Any]:
        c = self.comparison
        out: dict[str, Any] = {"decision_id": c.decision_id, "order_id": c.order_id,
                               "customer": c.customer or "",
                               "decided_at": iso_time(c.created_at), "currency": c.currency,
                               "worse": "yes" if self.worse else "no", "error": c.error or ""}
        for name, a in (("current", self.current), ("candidate", self.candidate)):
            for part in ("outcome", "refund", "credit", "bonus", "fees"):
                out[f"{name}_{part}"] = "" if a is None else getattr(a, part)
            out[f"{name}_exchange"] = "" if a is None else a.exchange
            out[f"{name}_exchange_items"] = "" if a is None else a.items
            # no exchange, no charge: an empty cell, not 0 of one
            out[f"{name}_exchange_charge"] = a.charge if a is not None and a.items else ""
        return out

    def csv_row(self) -> dict[str, Any]:
        """``to_csv`` with each amount also in major units (``CSV_COLUMNS``): empty where that
        side has no answer (an unreadable decision)."""
        out = self.to_csv()
        cur = self.comparison.currency
        for column in (*CSV_MONEY, *EXCHANGE_MONEY):
            minor = out[column]
            out[column + amounts.SUFFIX] = amounts.major(minor, cur) \
                if isinstance(minor, int) and cur else None
        return out


@dataclass
class Report:
    current_name: str
    candidate_name: str
    current: Side = field(default_factory=Side)
    candidate: Side = field(default_factory=Side)
    compared: int = 0
    differ: int = 0
    unreadable: int = 0
    worse: list[dict[str, Any]] = field(default_factory=list)
    worse_count: int = 0

    def add(self, row: Row) -> None:
        self.compared += 1
        c = row.comparison
        if row.current is None or row.candidate is None:
            self.unreadable += 1
            return
        self.current.add(row.current, c.currency)
        self.candidate.add(row.candidate, c.currency)
        self.differ += row.current != row.candidate  # ``row.differs`` and ``row.worse``, inline
        if worse(row.current, row.candidate):
            self.worse_count += 1
            if len(self.worse) < MAX_LISTED:
                self.worse.append(row.to_csv())

    def to_json(self) -> dict[str, Any]:
        # a currency only one side gave money in is shown on the other too, with 0
        for cur in {*self.current.money, *self.candidate.money}:
            for side in (self.current, self.candidate):
                side.money.setdefault(cur, dict.fromkeys(("refund", "credit", "bonus", "fees"), 0))
        return {"current": {"policy": self.current_name, **self.current.to_json()},
                "candidate": {"policy": self.candidate_name, **self.candidate.to_json()},
                "compared": self.compared, "differ": self.differ,
                "unreadable": self.unreadable, "worse_count": self.worse_count,
                "worse": self.worse}


def rows(engine: Engine, current: policies.Policy, candidate: policies.Policy,
         since: datetime | None = None, until: datetime | None = None,
         limit: int | None = None, *, explained: bool = False, worded: bool = True
         ) -> Iterator[Row]:
    """Each stored return decision of the period under both policies: in the order the
    database holds them (no sort of every stored fact), oldest first with a ``limit``.

    A report reads outcomes and money only, so a side decided again comes without its
    explanation paragraph (``replay_each(explained=False)``); ``explained=True`` decides as
    ``policy simulate`` does, with it (the plain path, for the tests and the bench).
    ``worded=False`` (``compare``): a side decided again says nothing at all, not even in its
    trace (``policies.evaluate(worded=False)``); its outcome, codes and money are the same."""
    # a report compares outcomes, money and how an exchange settled, as ``policy simulate``
    # counts a change: the stored body (its exchange) is read only for a decision made under
    # one of the two policies, whose stored answer is reused
    for cur, cand in replay_each(engine, (current, candidate), since, until, limit,
                                 batch=2000, reuse=True, ordered=False, explained=explained,
                                 worded=worded,
                                 exchanges=(current.content_hash, candidate.content_hash)):
        yield Row(cand, _stored(cur) if cur.reused else _new(cur),
                  _stored(cand) if cand.reused else _new(cand))


def candidate(preset: str | None, text: str | None, filename: str = "candidate.yaml"
              ) -> policies.Policy:
    """The candidate a person picked (``preset``: a preset's name) or uploaded (``text``), for
    the web: never a path on this server. A file with mistakes is an ``InputError`` with
    the words ``refunds policy check`` prints."""
    try:
        if text and text.strip():
            return policies.load_policy_text(text, filename or "candidate.yaml")
        if preset:
            return policies.load_policy(f"preset:{preset}")
    except policies.PolicyError as exc:
        raise InputError(str(exc), code="invalid_policy") from None
    raise InputError("candidate: pick a preset or upload a policy file", code="invalid_parameter")


def compare(engine: Engine, current: policies.Policy, candidate: policies.Policy,
            since: datetime | None = None, until: datetime | None = None,
            limit: int | None = None, each: Any = None, *, explained: bool = False) -> Report:
    """The report over the period; ``each(row)``, when given, sees every row (the CSV).

    A side decided again is decided unworded (``rows(worded=False)``): outcomes, codes and money
    only, the facts read into light twins; ``explained=True`` is the plain replay ``policy
    simulate`` makes (the bench's baseline), with the same report and rows."""
    report = Report(f"{current.name} ({current.content_hash[:12]})",
                    f"{candidate.name} ({candidate.content_hash[:12]})")
    for row in rows(engine, current, candidate, since, until, limit, explained=explained,
                    worded=explained):
        report.add(row)
        if each is not None:
            each(row)
    return report


def answer_words(row: dict[str, Any], side: str) -> str:
    """One side of a worse answer, as the command and the page word it: ``approve: refund
    0.00 USD, credit 45.00 USD + bonus 4.50 USD, fees 5.00 USD`` (bonus and fees when not 0)."""
    cur, bonus, fees = row["currency"], row[f"{side}_bonus"], row[f"{side}_fees"]
    items, charge = row.get(f"{side}_exchange_items"), row.get(f"{side}_exchange_charge")
    return (f"{row[f'{side}_outcome']}: refund {english(row[f'{side}_refund'], cur)}, credit "
            f"{english(row[f'{side}_credit'], cur)}"
            + (f" + bonus {english(bonus, cur)}" if bonus else "")
            + (f", fees {english(fees, cur)}" if fees else "")
            + (f", exchange for {items}" if items else "")
            + (f" paying {english(charge, cur)}" if items and charge else ""))
