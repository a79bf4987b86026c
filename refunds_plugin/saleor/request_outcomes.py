"""Which outcome settles which refund request on a Saleor transaction.

A REFUND_REQUEST event (``transactionRequestAction``: ours, for a correction, or staff's from
the Dashboard) is settled by a later REFUND_SUCCESS or REFUND_FAILURE. Saleor's API does not
link the two; the payment app's reference does: Saleor copies the ``pspReference`` of the app's
answer onto the request event, and the app reports the outcome under the same reference. A
request the app never answered has none (``""``), nor has the REFUND_FAILURE Saleor writes
when it gives up on the app.

So an outcome settles a request when their references match. Without a reference an outcome of
the same amount is taken only when nothing else could be its request: no other request of that
amount, earlier than it and not settled, lacks a reference of its own. Paired by amount alone,
one request's outcome settled another's: a staff request declined first made our own request
read as failed, its amount freed and a review opened whose approval paid the money again.
Where two requests of the same amount wait with no reference, an outcome settles neither: our
attempt stays ``sent``, its amount held, until the references tell (``docs/saleor.md``); unless
there are as many such outcomes as such requests, all failures (Saleor gave up on each): then
every one of them failed, whichever failure is whose. A request such a failure may be the
outcome of, undecided, is ``undecided``: a person is asked to look (``saleor/events.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from refunds_plugin.saleor.order import TransactionEvent

OUTCOMES = ("REFUND_SUCCESS", "REFUND_FAILURE")


def pair(events: Sequence[TransactionEvent], skip: Iterable[str] = ()
         ) -> dict[str, TransactionEvent]:
    """Each REFUND_REQUEST's outcome, by request id, where it is known beyond doubt. ``events``
    in the order they happened; ``skip``: events that are not such requests or outcomes (a
    granted refund's, settled by the grant's status)."""
    left = set(skip)
    order = {e.id: n for n, e in enumerate(events)}
    requests = [e for e in events if e.type == "REFUND_REQUEST" and e.id not in left]
    outcomes = [e for e in events if e.type in OUTCOMES and e.id not in left]
    referenced = {r.psp for r in requests if r.psp}
    paired: dict[str, TransactionEvent] = {}
    used: set[str] = set()

    def later(request: TransactionEvent) -> list[TransactionEvent]:
        return [o for o in outcomes if o.id not in used and o.amount == request.amount
                and order[o.id] > order[request.id]]

    for request in requests:  # by the app's reference
        found = next((o for o in later(request) if request.psp and o.psp == request.psp), None)
        if found is not None:
            paired[request.id] = found
            used.add(found.id)
    for request in requests:  # no reference: only where no other request could own it
        if request.psp or request.id in paired:
            continue
        for o in later(request):
            if o.psp and o.psp in referenced:
                continue  # another request's
            owners = [r for r in requests if not r.psp and r.id not in paired
                      and r.amount == o.amount and order[r.id] < order[o.id]]
            if owners == [request]:
                paired[request.id] = o
                used.add(o.id)
                break
    for amount in sorted({r.amount for r in requests}):
        _all_given_up(amount, requests, outcomes, order, paired, used)
    return paired


def _all_given_up(amount: int, requests: list[TransactionEvent],
                  outcomes: list[TransactionEvent], order: dict[str, int],
                  paired: dict[str, TransactionEvent], used: set[str]) -> None:
    """As many outcomes without a reference (REFUND_FAILUREs Saleor wrote giving up on the app)
    as requests of ``amount`` left without one: each request has one, whichever is whose, so
    each failed. Paired in time order, each with the first later one not taken."""
    waiting = [r for r in requests if not r.psp and r.id not in paired and r.amount == amount]
    gave_up = [o for o in outcomes if not o.psp and o.id not in used and o.amount == amount]
    if len(waiting) < 2 or len(gave_up) != len(waiting) \
            or len({o.type for o in gave_up}) != 1:
        return
    found: dict[str, TransactionEvent] = {}
    for request in waiting:
        o = next((o for o in gave_up if o.id not in {f.id for f in found.values()}
                  and order[o.id] > order[request.id]), None)
        if o is None:
            return  # one has no failure after it: it may still be waiting
        found[request.id] = o
    paired.update(found)
    used.update(o.id for o in found.values())


def undecided(events: Sequence[TransactionEvent], paired: dict[str, TransactionEvent],
              skip: Iterable[str] = ()) -> set[str]:
    """The requests without a reference, not settled by ``paired``, that a later failure
    without one (Saleor gave up on a request of that amount) may be the outcome of: each may
    have failed, or still wait, and which cannot be told."""
    left = set(skip)
    order = {e.id: n for n, e in enumerate(events)}
    used = {o.id for o in paired.values()}
    gave_up = [e for e in events if e.type in OUTCOMES and not e.psp and e.id not in used
               and e.id not in left]
    return {r.id for r in events
            if r.type == "REFUND_REQUEST" and not r.psp and r.id not in paired
            and r.id not in left
            and any(o.amount == r.amount and order[o.id] > order[r.id] for o in gave_up)}
