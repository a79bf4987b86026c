"""The dry-run provider: records what it would have sent and moves no money."""

from __future__ import annotations

from collections import deque
from dataclasses import fields

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.money import Money, stripe_amount
from refunds_plugin.providers import Instruction, ProviderResult, SaveProgress

# ``asdict`` would deep-copy ``extra`` (the order's facts and the decision), leaf by leaf, on
# every attempt; the instruction is frozen and its values are plain JSON, so its fields are
# taken as they are: the same dict, equal to what ``asdict`` gave
_FIELDS = tuple(f.name for f in fields(Instruction))


class DryRunProvider:
    name = "dryrun"

    def __init__(self) -> None:
        # the most recent instructions, for a look in tests or a debugger; bounded so a
        # long-running dry-run server does not grow without limit
        self.sent: deque[Instruction] = deque(maxlen=1000)

    def execute(self, instruction: Instruction, save_progress: SaveProgress) -> ProviderResult:
        self.sent.append(instruction)
        amount = stripe_amount(Money(instruction.amount, instruction.currency))
        code = None
        if instruction.kind == "credit":
            code = "DRYRUN-" + instruction.attempt_id.split("-")[0].upper()
        return ProviderResult(
            status=AttemptStatus.SUCCEEDED,
            reference=f"dryrun_{instruction.attempt_id}",
            sent_amount=amount + (instruction.bonus if instruction.kind == "credit" else 0),
            credit_code=code,
            detail={"dry_run": True,
                    "would_send": {name: getattr(instruction, name) for name in _FIELDS}},
        )
