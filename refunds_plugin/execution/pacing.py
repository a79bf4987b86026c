"""How often the executor's loop runs its other work while it is busy.

Every round of the loop claims the attempts that are due. Under load a round comes every few
milliseconds, and the round's other work ran with each: the background steps (Saleor's poll,
labels, exchanges, withdrawals, rollups) each read the database, and the courier read it and
took the write lock, every round. Under ``bench/bench_webhooks.py`` that was about a quarter of
the service's CPU (a py-spy profile of the workers), for work a person waits for in seconds. So
while busy the background steps run at most every ``BACKGROUND_EVERY_S`` and the courier at most
every ``COURIER_EVERY_S`` (at once again while its last batch was full); an idle loop runs them
every round, as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

BACKGROUND_EVERY_S = 0.25
COURIER_EVERY_S = 0.1


@dataclass
class Pace:
    """One kind of work's turns: at most one every ``every`` seconds."""

    every: float
    next_at: float = 0.0  # ``time.monotonic()`` of the next turn

    def due(self, *, anyway: bool = False) -> bool:
        """Whether this is a turn (``anyway``: take it now); taking it starts the next wait."""
        now = time.monotonic()
        if not anyway and now < self.next_at:
            return False
        self.next_at = now + self.every
        return True

    def left(self) -> float:
        """Seconds until the next turn (0 if due now)."""
        return max(0.0, self.next_at - time.monotonic())
