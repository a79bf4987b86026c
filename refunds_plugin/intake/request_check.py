"""Is a return request well formed for its order? One check for every channel.

A line the order does not have, a line named twice, or more units than the order has left to
return (ordered minus those a return was already requested for: approved or in review; the
ledger's requests, not parcels received) is the sender's request being wrong, not something the
policy refuses: the storefront gets a 400 naming the line (``InvalidLine``), the returns page
shows its form again with its own words (``webhooks.returns.form``), and nothing is recorded.
Lines the policy refuses (outside the window, final sale) are decided line by line instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from refunds_plugin.domain.facts import OrderFacts, ReturnRequest
from refunds_plugin.errors import InputError


class InvalidLine(InputError):
    code = "invalid_line"


@dataclass(frozen=True)
class LineProblem:
    """What is wrong with one requested line: ``unknown``, ``twice``, ``returned`` (a return is
    already requested for every unit) or ``too_many``; ``name`` is the item's name when the
    order has the line."""

    kind: str
    line_id: str
    name: str = ""
    left: int = 0
    quantity: int = 0

    def sentence(self) -> str:
        said = {
            "unknown": "the order has no such line",
            "twice": "it is named more than once; name each line once",
            "returned": f"a return has already been requested for every unit of {self.name}",
            "too_many": f"only {self.left} can still be returned, not {self.quantity}",
        }[self.kind]
        named = f" ({self.name})" if self.kind == "too_many" else ""
        return f"line {self.line_id}{named}: {said}"


def line_problem(facts: OrderFacts, line_id: str, quantity: int | None,
                 seen: Iterable[str]) -> LineProblem | None:
    """The problem with one requested line, given the lines named before it (``seen``);
    ``quantity`` None: not known yet, so only the line itself is checked."""
    line = facts.line(line_id)
    if line is None:
        return LineProblem("unknown", line_id)
    if line.id in seen:
        return LineProblem("twice", line.id, line.name)
    if quantity is None:
        return None
    left = line.quantity - facts.returned(line.id)
    if left <= 0:
        return LineProblem("returned", line.id, line.name, 0, quantity)
    if quantity > left:
        return LineProblem("too_many", line.id, line.name, left, quantity)
    return None


def check(facts: OrderFacts, request: ReturnRequest) -> None:
    """Raise ``InvalidLine`` naming every malformed line of ``request``; return if none."""
    seen: list[str] = []
    problems: list[LineProblem] = []
    for rl in request.lines:
        problem = line_problem(facts, rl.line_id, rl.quantity, seen)
        if problem is not None and problem not in problems:  # a line thrice is said once
            problems.append(problem)
        seen.append(rl.line_id)
    if problems:
        raise InvalidLine("; ".join(p.sentence() for p in problems))
