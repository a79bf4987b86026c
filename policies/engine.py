"""``evaluate``: facts + request + policy + now -> Decision. Pure and deterministic.

Order of play: the request must be well formed and the order must hold money; each line passes
the eligibility rules (window, final sale, reason, refund period); then keep-the-item, fees,
shipping, limits and abuse; last the split into refund and credit. Any ``decline`` from the
request rules ends it; a declined line is left out; any ``review`` sends the whole decision to a
person with the amounts already worked out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from policies import eligibility, exchange, resolution, safeguards
from policies.context import Context, build_context
from policies.explanation import cannot_fail, explain
from policies.policy import Policy, amount
from policies.resolution import PlannedLine
from refunds_plugin.domain.decision import Decision, Exchange, LineDecision, RuleResult
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest
from refunds_plugin.domain.kinds import Outcome, ResolutionKind
from refunds_plugin.language.said import Joined, said

# Sentences without parameters, said once rather than per decision (equal text, id and
# parameters; nothing changes a message once made).
_STANDARD = said("Standard terms apply.")

# Adjustments the customer should read about (the rest are already in the money sentence).
_NOTED = frozenset({"window", "final_sale", "reason", "refund_period", "tier",
                     "refund_route", "exchange", "exchange_price", "exchange_ship"})


def evaluate(policy: Policy, facts: OrderFacts, request: ReturnRequest,
             now: datetime, *, explained: bool = True, worded: bool = True) -> Decision:
    """Decide a return request under ``policy`` as of ``now``; no I/O, no clock.

    ``now`` and the order's dates must all be timezone-aware (UTC in the service).

    ``explained=False`` (``refunds policy compare``, which reads only outcomes and money) leaves
    an approved or reviewed decision's ``explanation`` empty where writing it could not have
    failed (``explanation.cannot_fail``); everything else, the trace's words included, is as
    with ``explained=True``. Where it could fail it is written, so the same error is raised.

    ``worded=False`` (``policy compare`` again) goes further: no rule says anything
    (``policies/words.py``). The trace keeps each rule's name, verdict and code, with an empty
    message and ``saw``; a fee's description may be empty and the explanation is. The outcome,
    the codes, the money and any error are those of a worded decision.
    """
    ctx = build_context(policy, facts, request, now, worded=worded)
    trace: list[RuleResult] = [eligibility.request_lines(ctx)]
    if trace[0].verdict == "decline":
        return _declined(ctx, trace, trace[0])
    trace.append(eligibility.payment(ctx))
    if trace[-1].verdict == "decline":
        return _declined(ctx, trace, trace[-1])
    trace.append(_tier(ctx))

    planned: list[PlannedLine] = []
    refused: list[RuleResult] = []
    for rl in request.lines:
        line = ctx.lines[rl.line_id]  # request_lines checked every id
        results = (eligibility.window(ctx, line, rl), eligibility.final_sale(ctx, line, rl),
                   eligibility.reason(ctx, line, rl), eligibility.refund_period(ctx, line, rl))
        trace.extend(results)
        verdicts = (results[0].verdict, results[1].verdict, results[2].verdict,
                    results[3].verdict)
        if "decline" in verdicts:
            refused.append(results[verdicts.index("decline")])
            continue
        # a free order's items were paid nothing, whatever their listed price
        value = 0 if ctx.free else line.units_amount(rl.quantity, ctx.returned.get(line.id, 0))
        planned.append(PlannedLine(line, rl, value, credit_only="adjust" in verdicts))
    if not planned:  # every line refused: each line's reason, not only the first
        return _declined(ctx, trace, *refused)

    ex_plan = exchange.plan(ctx, planned)
    kept = [resolution.keep_item(ctx, pl) for pl in planned]
    trace.extend(kept)
    back = [k.verdict == "pass" for k in kept]
    if ex_plan.swaps:
        backs = {id(pl): b for pl, b in zip(planned, back, strict=True)}
        swapped, swap_trace = _exchange(ctx, ex_plan, backs)
        rest = ex_plan.rest
        fee_lines = [(pl, backs[id(pl)]) for pl in rest]
    else:  # nothing swapped: the rest is every planned line, in order
        swapped, swap_trace, rest = None, [], ex_plan.rest
        fee_lines = list(zip(planned, back, strict=True))
    fees, fee_result = resolution.fees(ctx, fee_lines)
    ship, ship_result = resolution.shipping(ctx, rest)
    gross = sum(pl.amount for pl in rest) + ship
    extra = {ResolutionKind.REFUND: 0, ResolutionKind.CREDIT: 0}
    if swapped is not None and swapped.back:
        extra[ResolutionKind(swapped.lower)] = swapped.back
    resolutions, split_results = resolution.split(
        ctx, rest, ship, sum(f.amount for f in fees),
        extra_refund=extra[ResolutionKind.REFUND], extra_credit=extra[ResolutionKind.CREDIT])
    # what the abuse signals may count: the lines that are not our fault, less what of them
    # the customer takes as store credit
    theirs = [pl.amount for pl in rest if not pl.request.reason.merchant_fault]
    credit = 0
    for r in resolutions:  # a loop, not a generator: this runs for every approval
        if r.kind is ResolutionKind.CREDIT:
            credit += r.amount
    trace += [*ex_plan.notes, *swap_trace]
    trace += [fee_result, ship_result, safeguards.limits(ctx, gross),
              safeguards.abuse(ctx, sum(theirs) if theirs else None, credit)]
    trace.extend(split_results)

    reviews = [r for r in trace if r.verdict == "review"]
    outcome = Outcome.REVIEW if reviews else Outcome.APPROVE
    held = resolution.money_moves(ctx, resolutions, back,
                                   instant_exchange=swapped is not None and swapped.instant)
    if held is not None:
        trace.append(held)
    code = reviews[0].code if reviews else ("partially_approved" if refused else "approved")
    lines = tuple([LineDecision(pl.line.id, pl.request.quantity, pl.amount,
                                pl.request.reason.value, b)
                   for pl, b in zip(planned, back, strict=True)])
    text = ""
    if (explained and worded) or not cannot_fail(facts):  # what only the paragraph reads
        notes = [r for r in trace if r.verdict == "adjust" and r.rule in _NOTED]
        notes += [r for r in swap_trace if r.verdict == "pass"]
        rounded = next((r for r in split_results if r.rule == "rounding"), None)
        text = explain(ctx, outcome, planned, back, resolutions, fees, ship, notes, refused,
                       reviews, rounded, held, exchanged=swapped is not None)
        text = text if worded else ""  # written only for its error, if any
    return Decision(
        outcome=outcome, reason_code=code, explanation=text, currency=facts.currency,
        policy_name=policy.name, policy_hash=policy.content_hash, lines=lines,
        shipping_refund=ship, fees=tuple(fees), resolutions=resolutions,
        return_required=any(back), trace=tuple(trace), promise_hours=policy.promise_hours,
        exchange=swapped,
    )


def _exchange(ctx: Context, ex_plan: exchange.Plan,
              backs: dict[int, bool]) -> tuple[Exchange | None, list[RuleResult]]:
    """Settle the swapped lines' price difference and when they ship. A difference that would
    have to be charged on an order we cannot charge turns the swaps back into returns."""
    if not ex_plan.swaps:
        return None, []
    swaps = ex_plan.swaps
    fee_list, _ = resolution.fees(ctx, [(pl, backs[id(pl)]) for pl, _ in swaps])
    settled, price = exchange.settle(ctx, swaps, sum(f.amount for f in fee_list))
    if settled.charge and not exchange.chargeable(ctx):
        for pl, item in swaps:
            instead = exchange.instead(ctx, pl)
            ex_plan.notes.append(ctx.result(
                "exchange", "adjust", "exchange_charge_not_possible",
                ctx.said("We can't exchange {name} for {item}: it costs more, and we cannot take "
                        "the difference for this order, so it comes back as {instead} instead.",
                        name=pl.line.name, item=item.name, instead=instead),
                {"line_id": pl.line.id, "instead": instead}))
            ex_plan.rest.append(pl)
        ex_plan.notes[:] = [r for r in ex_plan.notes if r.code != "exchange_approved"]
        ex_plan.swaps = []
        return None, []
    when, ship = exchange.ship_on(ctx, not any(backs[id(pl)] for pl, _ in swaps))
    return replace(settled, ship_on=when.value), [price, ship]


def _tier(ctx: Context) -> RuleResult:
    st = ctx.standing
    saw = {"months_as_customer": st.months, "projected_value": st.projected_value,
           "orders": ctx.facts.history.order_count, "tier": st.tier_name} if ctx.worded else {}
    if not st.tiers:
        return ctx.result("tier", "pass", "tier_base", _STANDARD, saw)
    value = amount(st.projected_value, ctx.currency)
    return ctx.result("tier", "adjust", f"tier_{st.tier_name}",
                      ctx.said("As a {tier} customer (projected value {value}) you get our better "
                              "terms.", tier=st.tier_name, value=value), saw)


def _declined(ctx: Context, trace: list[RuleResult], why: RuleResult,
              *more: RuleResult) -> Decision:
    text = ""  # unworded: nothing to say (and joining sentences cannot fail)
    if ctx.worded:
        reasons = dict.fromkeys(r.message for r in (why, *more))  # a reason said once
        text = Joined([said("We're sorry, we can't accept this return."), *reasons])
    return Decision(
        outcome=Outcome.DECLINE, reason_code=why.code, explanation=text,
        currency=ctx.facts.currency, policy_name=ctx.policy.name,
        policy_hash=ctx.policy.content_hash, return_required=False, trace=tuple(trace),
        promise_hours=ctx.policy.promise_hours,
    )
