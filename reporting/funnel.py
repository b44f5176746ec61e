"""Funnel arithmetic over lead and stage-transition rows.

Pure core: standard library only, no Django import, no clock reads. Every function is a
function of its arguments; the period, the reference time and the rows are passed in.
This module is two things at once:

* the arithmetic layer of the closed-loop reports (conversion rates, bottleneck, merging
  pre-aggregated snapshot counts with live counts), used with counts that SQL produced;
* the reference implementation of the funnel over raw rows, which the tests use to check
  the set-based SQL in ``reporting/selectors.py``. It favours being obviously correct over
  being fast.

Vocabulary (PRODUCT.md): the forward lifecycle stages are ``lead -> mql -> sql ->
opportunity -> customer``; the exits are ``recycled`` (handed back to marketing, may qualify
again), ``disqualified`` and ``lost``. A stage transition is one stored change of stage.

Semantics shared by both modes
------------------------------
* Every datetime is aware; a naive one is a ``ValueError``. Periods are half-open
  ``[start, end)``.
* Input order never matters: back-filled transitions may arrive in any order.
* Counts are of *distinct leads*: a lead that enters a stage twice counts once.
* The funnel is *cumulative*: a lead that reaches a later forward stage has reached every
  earlier forward stage, at the same moment if it skipped them (a manual move
  ``lead -> sql`` makes the lead an MQL too).
* Being created is reaching ``lead``.
* Conversion of the pair ``(a, b)`` is ``counts[b] / counts[a]``, ``None`` when
  ``counts[a]`` is 0. Only consecutive forward pairs are reported (``FORWARD_PAIRS``).
* Velocity of ``(a, b)`` is the median over leads of the time from reaching ``a`` to
  reaching ``b`` (one sample per lead), ``None`` without samples. With an even number of
  samples the median is the midpoint of the two middle ones (rounded to the microsecond).
* Won revenue is the sum of ``LeadRow.amount`` (``None`` counts as 0) over the leads that
  reached ``customer``, each lead once.
* Results are keyed by ``LeadRow.group`` (any hashable label, ``None`` included) plus the
  total under ``ALL``, a sentinel that cannot collide with a group label. ``ALL`` is always
  present, even for an empty period; a group only appears when one of its leads counts.

Cohort mode (``cohort_funnel``): the leads created in the period, and how far each got
    by ``as_of``. A lead's progress is read from the ``to_stage`` of its transitions at or
    before ``as_of``. Exit counts are the cohort leads that ever entered that exit stage
    (a recycled lead that re-qualified still counts under ``recycled``). Counts are
    non-increasing along the forward stages, so every conversion rate is within [0, 1].

Flow mode (``flow_funnel``): what happened in the period, whoever the leads are. See its
    docstring for how a transition "enters" stages; conversion rates there are ratios of
    independent counts and may exceed 1.
"""

import enum
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from leads import lifecycle

# The stage order comes from the lifecycle (a pure module too): one place for the rule. Plain
# strings, so results serialise anywhere (JSON, YAML, CSV) without knowing the enum.
FORWARD_STAGES: tuple[str, ...] = tuple(stage.value for stage in lifecycle.FORWARD_STAGES)
EXIT_STAGES: tuple[str, ...] = tuple(stage.value for stage in lifecycle.EXIT_STAGES)
LEAD, MQL, SQL, OPPORTUNITY, CUSTOMER = FORWARD_STAGES
RECYCLED, DISQUALIFIED, LOST = EXIT_STAGES
STAGES: tuple[str, ...] = FORWARD_STAGES + EXIT_STAGES
FORWARD_PAIRS: tuple[tuple[str, str], ...] = tuple(pairwise(FORWARD_STAGES))

_FORWARD_INDEX = {stage: index for index, stage in enumerate(FORWARD_STAGES)}


class Total(enum.Enum):
    """The key of the all-groups total in a funnel result mapping (``.value == "all"``)."""

    ALL = "all"


ALL = Total.ALL


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One lead: its id, creation time (aware), report group label and deal amount."""

    lead_id: Hashable
    created_at: datetime
    group: Hashable = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One stored stage transition. ``from_stage`` is ``None`` for the creation row."""

    lead_id: Hashable
    from_stage: str | None
    to_stage: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FunnelResult:
    """The funnel of one group.

    ``counts`` has every stage of ``STAGES`` (forward stages then exits) as distinct leads;
    ``conversion`` and ``velocity`` have every pair of ``FORWARD_PAIRS``.
    """

    counts: dict[str, int]
    conversion: dict[tuple[str, str], float | None]
    velocity: dict[tuple[str, str], timedelta | None]
    won_revenue: Decimal


@dataclass(frozen=True, slots=True)
class BottleneckResult:
    """The stage pair furthest below plan.

    ``gap_points`` is ``planned - measured`` in rate units (0.05 is 5 percentage points);
    ``ratio_to_plan`` is ``measured / planned`` (0.6: the pair converts at 60 % of plan).
    """

    from_stage: str
    to_stage: str
    measured: float
    planned: float
    gap_points: float
    ratio_to_plan: float

    @property
    def pair(self) -> tuple[str, str]:
        return (self.from_stage, self.to_stage)


@dataclass(frozen=True, slots=True)
class Attribution:
    """Won revenue credited per campaign.

    Every won amount is credited once in ``first_touch`` and once in ``last_touch``, or,
    for a won lead without touches, once in ``unattributed``; so each mapping's sum plus
    ``unattributed`` is the total won.
    """

    first_touch: dict[Hashable, Decimal]
    last_touch: dict[Hashable, Decimal]
    unattributed: Decimal


# --------------------------------------------------------------------------- arithmetic


def conversion_from_counts(
    counts: Mapping[str, int],
) -> dict[tuple[str, str], float | None]:
    """Stage-to-stage conversion ``counts[b] / counts[a]`` for each of ``FORWARD_PAIRS``.

    A missing stage counts as 0; a pair whose ``a`` count is 0 has rate ``None``.
    """
    rates: dict[tuple[str, str], float | None] = {}
    for from_stage, to_stage in FORWARD_PAIRS:
        denominator = counts.get(from_stage, 0)
        numerator = counts.get(to_stage, 0)
        rates[(from_stage, to_stage)] = numerator / denominator if denominator else None
    return rates


def bottleneck(
    conversion: Mapping[tuple[str, str], float | Decimal | None],
    plan_rates: Mapping[tuple[str, str], float | Decimal | None],
) -> BottleneckResult | None:
    """The forward pair whose measured conversion is furthest below the revenue plan's.

    "Furthest below" is the lowest ``measured / planned``; on a tie the earlier pair in the
    funnel wins. Pairs are ignored when they are not consecutive forward pairs, when the
    measurement is ``None`` (nothing to measure), or when the plan has no positive rate for
    them. Returns ``None`` when no measured pair is strictly below its plan rate.

    Rates are fractions (0.25 is 25 %), keyed by ``(from_stage, to_stage)``; ``Decimal``
    rates (as ``goals/planning.py`` keeps them) are accepted and compared as floats.
    """
    worst: BottleneckResult | None = None
    for pair in FORWARD_PAIRS:
        measured = conversion.get(pair)
        planned = plan_rates.get(pair)
        if measured is None or planned is None:
            continue
        measured, planned = float(measured), float(planned)
        if planned <= 0 or measured >= planned:
            continue
        ratio = measured / planned
        if worst is None or ratio < worst.ratio_to_plan:  # strict: ties keep funnel order
            worst = BottleneckResult(
                from_stage=pair[0],
                to_stage=pair[1],
                measured=measured,
                planned=planned,
                gap_points=planned - measured,
                ratio_to_plan=ratio,
            )
    return worst


def merge_counts(*funnel_results: FunnelResult) -> FunnelResult:
    """Add funnel results of disjoint pieces (snapshot days + today's live rows).

    Counts and won revenue add; conversion is recomputed from the added counts. The sum
    is exact when the pieces count different leads: cohort pieces over disjoint creation
    periods always do; flow pieces count a lead that entered the same stage in two pieces
    once per piece (the flow funnel over the whole period would count it once).

    Medians do not combine, so velocity is exact only when at most one piece measured a
    pair: then that piece's median is kept; when several pieces measured it the merged
    velocity is ``None``. For velocity over a long period, compute it from raw rows over the
    whole period instead. With no argument, returns an empty funnel.
    """
    counts = {stage: 0 for stage in STAGES}
    won_revenue = Decimal(0)
    for result in funnel_results:
        for stage, count in result.counts.items():
            counts[stage] = counts.get(stage, 0) + count
        won_revenue += result.won_revenue

    velocity: dict[tuple[str, str], timedelta | None] = {}
    for pair in FORWARD_PAIRS:
        measured = [r.velocity[pair] for r in funnel_results if r.velocity.get(pair) is not None]
        velocity[pair] = measured[0] if len(measured) == 1 else None

    return FunnelResult(
        counts=counts,
        conversion=conversion_from_counts(counts),
        velocity=velocity,
        won_revenue=won_revenue,
    )


# --------------------------------------------------------------------------- funnels


def cohort_funnel(
    leads: Iterable[LeadRow],
    transitions: Iterable[TransitionRow],
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
) -> dict[Hashable, FunnelResult]:
    """The funnel of the leads created in ``[start, end)``, by group and under ``ALL``.

    A cohort lead has reached a forward stage if any of its transitions at or before
    ``as_of`` (default: all of them) went to that stage or a later forward stage; it has
    always reached ``lead``. It counts under an exit stage if any such transition went to
    that exit. Transitions of leads outside the cohort are ignored.

    Velocity uses the *first* time each stage was reached: for stage ``s`` the earliest
    transition to ``s`` or any later forward stage (and, for ``lead``, the creation time if
    earlier), so a skipped stage is reached when the stage after it is, and a recycled lead
    that re-qualifies keeps its first times. A lead gives a sample for ``(a, b)`` when it
    has reached ``b``.
    """
    _check_period(start, end)
    if as_of is not None:
        _require_aware(as_of, "as_of")

    cohort = {
        lead.lead_id: lead
        for lead in _index_leads(leads).values()
        if start <= lead.created_at < end
    }
    history = _history_by_lead(
        transition
        for transition in transitions
        if transition.lead_id in cohort and (as_of is None or transition.at <= as_of)
    )

    tallies = _Tallies()
    for lead_id, lead in cohort.items():
        lead_transitions = history.get(lead_id, [])
        reached = _first_reached(lead, lead_transitions)
        exits = {t.to_stage for t in lead_transitions if t.to_stage in EXIT_STAGES}
        samples = {(a, b): reached[b] - reached[a] for a, b in FORWARD_PAIRS if b in reached}
        tallies.add(lead, stages=set(reached) | exits, samples=samples)
    return tallies.results()


def flow_funnel(
    leads: Iterable[LeadRow],
    transitions: Iterable[TransitionRow],
    start: datetime,
    end: datetime,
) -> dict[Hashable, FunnelResult]:
    """The funnel of what happened in ``[start, end)``, by group and under ``ALL``.

    ``leads`` must hold every lead created in the period and every lead with a transition
    in the period (a transition in the period of an unknown lead is a ``ValueError``);
    ``transitions`` may hold a lead's whole history, which velocity uses.

    Entries: a lead *enters* ``lead`` when it is created. A transition enters its
    ``to_stage``; when that is a forward stage it also enters the forward stages it skipped,
    those strictly between its ``from_stage`` and its ``to_stage``. For that purpose a
    ``from_stage`` of ``None`` (creation) sits before ``lead``, and an exit re-qualified
    into ``mql`` or ``sql`` sits at ``lead`` (the lead is back in marketing's hands), so
    ``recycled -> sql`` enters ``mql`` and ``sql``. A re-open, a move out of an exit into
    ``opportunity`` or ``customer`` (``lost -> opportunity``, ``recycled -> opportunity``),
    is a re-entry into its ``to_stage`` only. A move back (``opportunity -> sql``) enters
    only its ``to_stage``.

    Counts: per stage, the distinct leads with an entry in the period. A recycled lead that
    re-qualifies in the same period counts once per stage; re-qualifying in a later period,
    it counts again in that period's flow. Conversion rates are ratios of these counts,
    which concern different leads, so they may exceed 1 (more SQLs than MQLs this month is
    normal when last month's MQLs qualify now).

    Velocity of ``(a, b)``: for each lead entering ``b`` in the period, from its latest entry
    into ``a`` at or before its first entry into ``b`` in the period, wherever that entry
    falls in the history given; a lead whose entry into ``a`` is not in the history gives
    no sample. Won revenue: the amounts of the leads entering ``customer`` in the period.
    """
    _check_period(start, end)
    leads_by_id = _index_leads(leads)
    history = _history_by_lead(transitions)

    for lead_id, lead_transitions in history.items():
        if lead_id not in leads_by_id and any(start <= t.at < end for t in lead_transitions):
            raise ValueError(f"transition in the period for unknown lead {lead_id!r}")

    tallies = _Tallies()
    for lead_id, lead in leads_by_id.items():
        entries = [(lead.created_at, LEAD)]
        for transition in history.get(lead_id, []):
            entries.extend((transition.at, stage) for stage in _entered_stages(transition))
        in_period = [(at, stage) for at, stage in entries if start <= at < end]
        if not in_period:
            continue

        first_entry_in_period: dict[str, datetime] = {}
        for at, stage in in_period:
            if stage not in first_entry_in_period or at < first_entry_in_period[stage]:
                first_entry_in_period[stage] = at

        samples: dict[tuple[str, str], timedelta] = {}
        for a, b in FORWARD_PAIRS:
            if b not in first_entry_in_period:
                continue
            entered_b = first_entry_in_period[b]
            entries_into_a = [at for at, stage in entries if stage == a and at <= entered_b]
            if entries_into_a:
                samples[(a, b)] = entered_b - max(entries_into_a)

        tallies.add(lead, stages=set(first_entry_in_period), samples=samples)
    return tallies.results()


# --------------------------------------------------------------------------- attribution


def attribute_revenue(
    touches: Mapping[Hashable, Sequence[tuple[datetime, Hashable]]],
    won: Mapping[Hashable, Decimal | None],
) -> Attribution:
    """First-touch and last-touch revenue per campaign.

    ``touches`` maps a lead id to its campaign touches ``(at, campaign)``; ``won`` maps each
    won lead id to its amount (``None`` counts as 0). The whole amount of a won lead goes to
    the campaign of its earliest touch (first touch) and of its latest (last touch); touches
    are ordered by ``at`` and, at equal times, keep their given order. Touches of leads that
    were not won are ignored; the caller leaves out touches after the win.
    """
    first_touch: dict[Hashable, Decimal] = defaultdict(Decimal)
    last_touch: dict[Hashable, Decimal] = defaultdict(Decimal)
    unattributed = Decimal(0)
    for lead_id, amount in won.items():
        amount = Decimal(0) if amount is None else amount
        lead_touches = sorted(touches.get(lead_id, ()), key=lambda touch: touch[0])
        if not lead_touches:
            unattributed += amount
            continue
        first_touch[lead_touches[0][1]] += amount
        last_touch[lead_touches[-1][1]] += amount
    return Attribution(
        first_touch=dict(first_touch), last_touch=dict(last_touch), unattributed=unattributed
    )


# --------------------------------------------------------------------------- internals


class _Tallies:
    """Distinct-lead counts, velocity samples and won revenue per group and in total."""

    def __init__(self) -> None:
        self._counts: dict[Hashable, dict[str, int]] = {}
        self._samples: dict[Hashable, dict[tuple[str, str], list[timedelta]]] = {}
        self._won: dict[Hashable, Decimal] = {}
        self._open(ALL)

    def _open(self, key: Hashable) -> None:
        if key not in self._counts:
            self._counts[key] = {stage: 0 for stage in STAGES}
            self._samples[key] = {pair: [] for pair in FORWARD_PAIRS}
            self._won[key] = Decimal(0)

    def add(
        self,
        lead: LeadRow,
        *,
        stages: set[str],
        samples: Mapping[tuple[str, str], timedelta],
    ) -> None:
        """Count ``lead`` once under each of ``stages`` in its group and in ``ALL``."""
        for key in (lead.group, ALL):
            self._open(key)
            for stage in stages:
                self._counts[key][stage] += 1
            for pair, sample in samples.items():
                self._samples[key][pair].append(sample)
            if CUSTOMER in stages and lead.amount is not None:
                self._won[key] += lead.amount

    def results(self) -> dict[Hashable, FunnelResult]:
        return {
            key: FunnelResult(
                counts=counts,
                conversion=conversion_from_counts(counts),
                velocity={pair: _median(v) for pair, v in self._samples[key].items()},
                won_revenue=self._won[key],
            )
            for key, counts in self._counts.items()
        }


def _first_reached(lead: LeadRow, transitions: Iterable[TransitionRow]) -> dict[str, datetime]:
    """The first time ``lead`` was at or beyond each forward stage it reached."""
    reached = {LEAD: lead.created_at}
    for transition in transitions:
        if transition.to_stage not in _FORWARD_INDEX:
            continue
        for stage in FORWARD_STAGES[: _FORWARD_INDEX[transition.to_stage] + 1]:
            if stage not in reached or transition.at < reached[stage]:
                reached[stage] = transition.at
    return reached


def _entered_stages(transition: TransitionRow) -> tuple[str, ...]:
    """The stages a transition enters in flow mode: its target and the stages it skipped
    (`leads.lifecycle.entered_stages`)."""
    return lifecycle.entered_stages(transition.from_stage, transition.to_stage)


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    low, high = ordered[middle - 1], ordered[middle]
    return low + (high - low) / 2


def _index_leads(leads: Iterable[LeadRow]) -> dict[Hashable, LeadRow]:
    by_id: dict[Hashable, LeadRow] = {}
    for lead in leads:
        _require_aware(lead.created_at, f"created_at of lead {lead.lead_id!r}")
        if lead.lead_id in by_id:
            raise ValueError(f"lead {lead.lead_id!r} is given twice")
        by_id[lead.lead_id] = lead
    return by_id


def _history_by_lead(transitions: Iterable[TransitionRow]) -> dict[Hashable, list[TransitionRow]]:
    """Transitions per lead, validated, with stages normalised to the plain stage names."""
    history: dict[Hashable, list[TransitionRow]] = defaultdict(list)
    for transition in transitions:
        _require_aware(transition.at, f"at of a transition of lead {transition.lead_id!r}")
        from_stage = None if transition.from_stage is None else _stage_name(transition.from_stage)
        history[transition.lead_id].append(
            TransitionRow(
                lead_id=transition.lead_id,
                from_stage=from_stage,
                to_stage=_stage_name(transition.to_stage),
                at=transition.at,
            )
        )
    return dict(history)


def _stage_name(value: object) -> str:
    # Results are keyed by the plain names whatever str-like choice member the caller
    # passes (a Django TextChoices member equals its value); anything else is a typo.
    for stage in STAGES:
        if value == stage:
            return stage
    raise ValueError(f"unknown lifecycle stage {value!r}")


def _check_period(start: datetime, end: datetime) -> None:
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {moment!r}")
