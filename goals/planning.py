"""The reverse funnel: a revenue plan worked backwards into the leads marketing signs up for.

"Sign up for a number": start from a revenue target for a period and an average deal size,
which gives the customers needed; divide by each stage-to-stage conversion rate in turn to get
the opportunities, SQLs, MQLs and leads needed. Seed example: $15,000 a month at $1,000 a deal
needs 15 customers; at 25% opportunity→customer, 50% SQL→opportunity, 40% MQL→SQL and 20%
lead→MQL that is 60 opportunities, 120 SQLs, 300 MQLs and 1,500 leads.

Pure core: standard library only, no Django. Money and rates are ``decimal.Decimal`` (an
``int`` is accepted wherever a Decimal is, a ``float`` never is: it cannot hold 0.3 exactly).
Rates are fractions in (0, 1] (``Decimal("0.25")`` is 25%), not percentages. Money carries no
currency: all amounts of one plan are in the plan's currency.

Rounding: every count is rounded up, stage by stage, from the whole number of the next stage
(``opportunities = ceil(customers / rate)``, never from an unrounded chain), because nobody
can close 0.4 of an opportunity; this is how a sales manager does it by hand, and it can need
a few more leads than rounding only at the end. Divisions are exact (done on
``fractions.Fraction``), so a result that is a whole number is never rounded up by a stray
binary or decimal digit, and the caller's decimal context has no effect.

The SLA's marketing commitment ("N leads reaching stage S per product per month") is
``per_month(split_by_product(inputs, shares)[product], months).for_stage(S)``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise

STAGES = ("lead", "mql", "sql", "opportunity", "customer")
"""Lifecycle stages a plan counts, in funnel order."""

AMOUNT_FIELDS = ("revenue_target", "average_deal_size")
RATE_FIELDS = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_customer_rate",
)
"""Names of the four rate fields, in funnel order; also the keys of validation errors."""

REQUIRED_MESSAGE = "This field is required."
NOT_A_NUMBER_MESSAGE = "Enter a number."
FLOAT_MESSAGE = "Enter an exact decimal number, not a float."
NOT_FINITE_MESSAGE = "Enter a finite number."
AMOUNT_MESSAGE = "Must be greater than 0."
RATE_MESSAGE = "Must be greater than 0% and at most 100%."
MONTHS_MESSAGE = "Must be a whole number of months, at least 1."
SHARES_FIELD = "product_shares"
MONTHS_FIELD = "months"

# Measured rates are rounded to this many decimal places (0.01 %), so the rate a plan shows is
# exactly the rate it computed with and the numbers can be redone by hand.
MEASURED_RATE_PLACES = 4

# Ratios are computed with this context, whatever context the caller has set.
_RATIO_CONTEXT = Context(prec=28)


class PlanningError(ValueError):
    """Invalid plan inputs. ``errors`` maps a field name to its messages, for forms and APIs."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors: dict[str, list[str]] = {field: list(msgs) for field, msgs in errors.items()}
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
        super().__init__(summary or "invalid plan inputs")


class RateSource(StrEnum):
    """Where the rate a plan used came from."""

    TYPED = "typed"
    MEASURED = "measured"


@dataclass(frozen=True)
class PlanInputs:
    """What a revenue plan is computed from.

    Construction does not validate, so a form can hand over what it has (``None`` for a
    missing value) and get field messages from :func:`validate_plan_inputs`.

    - ``revenue_target``: money to win in the plan's period, > 0.
    - ``average_deal_size``: money per customer won, > 0.
    - the four rates: fractions in (0, 1], the share of one stage that reaches the next.
    """

    revenue_target: Decimal | None
    average_deal_size: Decimal | None
    lead_to_mql_rate: Decimal | None
    mql_to_sql_rate: Decimal | None
    sql_to_opportunity_rate: Decimal | None
    opportunity_to_customer_rate: Decimal | None


@dataclass(frozen=True)
class PlanNeeds:
    """Counts needed at each stage for a plan's period (or per month, see :func:`per_month`).

    Counts are whole numbers; each is >= the count of the stage after it.
    ``average_deal_size`` is carried along so ``expected_revenue`` stays consistent.
    """

    customers: int
    opportunities: int
    sqls: int
    mqls: int
    leads: int
    average_deal_size: Decimal

    @property
    def expected_revenue(self) -> Decimal:
        """Money won if the customers needed are won: ``customers × average_deal_size``.

        Exact, and >= the revenue target (customers are rounded up).
        """
        return _exact_product(self.average_deal_size, self.customers)

    def by_stage(self) -> dict[str, int]:
        """The counts keyed by lifecycle stage name, in funnel order (``lead`` first)."""
        return {
            "lead": self.leads,
            "mql": self.mqls,
            "sql": self.sqls,
            "opportunity": self.opportunities,
            "customer": self.customers,
        }

    def for_stage(self, stage: str) -> int:
        """The count needed at ``stage`` (one of :data:`STAGES`); ``ValueError`` otherwise."""
        counts = self.by_stage()
        if stage not in counts:
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        return counts[stage]


@dataclass(frozen=True)
class StageCounts:
    """How many leads reached each stage over a look-back window (non-negative ints)."""

    leads: int
    mqls: int
    sqls: int
    opportunities: int
    customers: int


@dataclass(frozen=True)
class MeasuredRates:
    """Conversion rates measured from :class:`StageCounts`; ``None`` where nothing to measure.

    Field names match the rate fields of :class:`PlanInputs`.
    """

    lead_to_mql_rate: Decimal | None
    mql_to_sql_rate: Decimal | None
    sql_to_opportunity_rate: Decimal | None
    opportunity_to_customer_rate: Decimal | None


# --- validation -----------------------------------------------------------------------------


def _number_error(value: object) -> str | None:
    """The message for a value that is not a usable exact number, else ``None``."""
    if value is None:
        return REQUIRED_MESSAGE
    if isinstance(value, float):
        return FLOAT_MESSAGE
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return NOT_A_NUMBER_MESSAGE
    if isinstance(value, Decimal) and not value.is_finite():
        return NOT_FINITE_MESSAGE
    return None


def _rate_error(value: object) -> str | None:
    """The message for a value that is not a rate in (0, 1], else ``None``."""
    error = _number_error(value)
    if error is not None:
        return error
    assert isinstance(value, Decimal | int)
    if not 0 < value <= 1:
        return RATE_MESSAGE
    return None


def validate_plan_inputs(inputs: PlanInputs) -> dict[str, list[str]]:
    """Field-keyed messages for everything wrong with ``inputs``; empty when they are valid.

    Keys are the :class:`PlanInputs` field names, in field order; each bad field gets one
    message: missing (``None``), not a number (a float, a string, a bool, NaN, infinity),
    an amount that is not > 0, or a rate outside (0, 1].
    """
    errors: dict[str, list[str]] = {}
    for field in AMOUNT_FIELDS:
        value = getattr(inputs, field)
        error = _number_error(value)
        if error is None and not value > 0:
            error = AMOUNT_MESSAGE
        if error is not None:
            errors[field] = [error]
    for field in RATE_FIELDS:
        error = _rate_error(getattr(inputs, field))
        if error is not None:
            errors[field] = [error]
    return errors


def validate_product_shares(shares: Mapping[Hashable, Decimal]) -> dict[str, list[str]]:
    """Messages (under the key ``"product_shares"``) for a bad product → revenue share mapping.

    Valid: at least one product, each share a fraction in (0, 1], and the shares adding up to
    exactly 1 (100 %). Empty dict when valid.
    """
    messages: list[str] = []
    if not shares:
        messages.append("Give at least one product.")
    for product, share in shares.items():
        error = _rate_error(share)
        if error is not None:
            messages.append(f"Share for {product}: {error}")
    if not messages:
        total = sum((Fraction(share) for share in shares.values()), Fraction(0))
        if total != 1:
            messages.append(f"Shares must add up to 100% (they add up to {_percent(total)}).")
    return {SHARES_FIELD: messages} if messages else {}


# --- the reverse funnel ---------------------------------------------------------------------


def plan_needs(inputs: PlanInputs) -> PlanNeeds:
    """The customers, opportunities, SQLs, MQLs and leads needed to reach the revenue target.

    ``customers = ceil(revenue_target / average_deal_size)``, then each earlier stage is
    ``ceil(next stage's whole count / rate)``: rounded up at every stage. Exact arithmetic.
    Raises :class:`PlanningError` (with :func:`validate_plan_inputs`'s messages) for invalid
    inputs; never divides by zero.
    """
    errors = validate_plan_inputs(inputs)
    if errors:
        raise PlanningError(errors)
    customers = _ceil_div(inputs.revenue_target, inputs.average_deal_size)
    opportunities = _ceil_div(customers, inputs.opportunity_to_customer_rate)
    sqls = _ceil_div(opportunities, inputs.sql_to_opportunity_rate)
    mqls = _ceil_div(sqls, inputs.mql_to_sql_rate)
    leads = _ceil_div(mqls, inputs.lead_to_mql_rate)
    return PlanNeeds(
        customers=customers,
        opportunities=opportunities,
        sqls=sqls,
        mqls=mqls,
        leads=leads,
        average_deal_size=Decimal(inputs.average_deal_size),
    )


def split_by_product(
    inputs: PlanInputs, shares: Mapping[Hashable, Decimal]
) -> dict[Hashable, PlanNeeds]:
    """Needs per product, each product taking a share of the revenue target.

    ``shares`` maps a product (any hashable key: an id, a slug, a model instance) to its share
    of ``inputs.revenue_target`` as a fraction in (0, 1]; the shares must add up to exactly 1.
    Every product uses the plan's average deal size and rates. Each product is planned on its
    own and rounded up on its own (a commitment is per product, and nobody delivers 0.4 of a
    lead for one product), so the products' counts can add up to more than the whole plan's.
    Raises :class:`PlanningError` with the messages of both validators.
    """
    errors = {**validate_plan_inputs(inputs), **validate_product_shares(shares)}
    if errors:
        raise PlanningError(errors)
    return {
        product: plan_needs(
            replace(inputs, revenue_target=_exact_product(inputs.revenue_target, share))
        )
        for product, share in shares.items()
    }


def total_needs(parts: Iterable[PlanNeeds]) -> PlanNeeds:
    """The stage-by-stage sum of several needs (the products of one plan), so a plan split by
    product shows totals that are exactly the sum of its rows.

    Each part is rounded up on its own, so the sum can exceed :func:`plan_needs` of the whole
    target by up to one per part and stage. The parts must share one average deal size;
    ``ValueError`` for none at all or for deal sizes that differ.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("total_needs needs at least one part")
    deal_sizes = {part.average_deal_size for part in parts}
    if len(deal_sizes) != 1:
        raise ValueError("parts of one plan share one average deal size")
    return PlanNeeds(
        customers=sum(part.customers for part in parts),
        opportunities=sum(part.opportunities for part in parts),
        sqls=sum(part.sqls for part in parts),
        mqls=sum(part.mqls for part in parts),
        leads=sum(part.leads for part in parts),
        average_deal_size=parts[0].average_deal_size,
    )


def per_month(needs: PlanNeeds, months: int) -> PlanNeeds:
    """Needs per month for a plan spanning ``months`` whole months (an int >= 1).

    Each stage's count is divided by ``months`` and rounded up on its own, so a month's
    figure times ``months`` can exceed the period's by up to ``months - 1`` per stage, and
    each stage still needs at least as many as the next. Raises :class:`PlanningError`
    (key ``"months"``) for a bad month count.
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise PlanningError({MONTHS_FIELD: [MONTHS_MESSAGE]})
    return PlanNeeds(
        customers=-(-needs.customers // months),
        opportunities=-(-needs.opportunities // months),
        sqls=-(-needs.sqls // months),
        mqls=-(-needs.mqls // months),
        leads=-(-needs.leads // months),
        average_deal_size=needs.average_deal_size,
    )


# --- measured rates -------------------------------------------------------------------------


def measured_rates(counts: StageCounts, *, places: int = MEASURED_RATE_PLACES) -> MeasuredRates:
    """The four conversion rates measured from stage counts over a look-back window.

    Each rate is ``reached next stage / reached this stage``, rounded half up to ``places``
    decimal places (default 4, i.e. 0.01 %), or ``None`` when this stage's count is 0.
    A rate is returned as measured even when it is 0 or above 1 (stage-skipping data); such a
    rate is not usable in a plan, and :func:`with_measured_rates` falls back to the typed one.
    Raises ``ValueError`` for a count that is not a non-negative int.
    """
    values = (counts.leads, counts.mqls, counts.sqls, counts.opportunities, counts.customers)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"stage counts must be non-negative ints, got {value!r}")
    quantum = Decimal(1).scaleb(-places)
    rates = []
    for reached, converted in pairwise(values):
        if reached == 0:
            rates.append(None)
        else:
            rates.append(_round_fraction(Fraction(converted, reached), quantum))
    return MeasuredRates(*rates)


def with_measured_rates(
    inputs: PlanInputs, measured: MeasuredRates
) -> tuple[PlanInputs, dict[str, RateSource]]:
    """``inputs`` with each typed rate replaced by its measured rate where that is usable.

    A measured rate is used when it is not ``None`` and lies in (0, 1]; otherwise the typed
    rate stays. Returns the new inputs and, per rate field, which source was used.
    """
    sources: dict[str, RateSource] = {}
    changes: dict[str, Decimal] = {}
    for field in RATE_FIELDS:
        rate = getattr(measured, field)
        if rate is not None and _rate_error(rate) is None:
            changes[field] = rate
            sources[field] = RateSource.MEASURED
        else:
            sources[field] = RateSource.TYPED
    return replace(inputs, **changes), sources


# --- realism --------------------------------------------------------------------------------


def realism_ratio(
    target_value: Decimal | int | None, last_period_value: Decimal | int | None
) -> Decimal | None:
    """``target_value / last_period_value``: how many times last period's figure a goal needs.

    ``None`` when either value is unknown (``None``) or the last value is 0 or negative (no
    meaningful baseline). Unrounded (28 significant digits, whatever the caller's context).
    Raises ``TypeError`` for a value that is not a Decimal or an int (a float, for instance).
    """
    if target_value is None or last_period_value is None:
        return None
    for value in (target_value, last_period_value):
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"expected a Decimal or an int, got {value!r}")
    if not last_period_value > 0:
        return None
    return _RATIO_CONTEXT.divide(Decimal(target_value), Decimal(last_period_value))


def realism_sentence(
    target_value: Decimal | int | None,
    last_period_value: Decimal | int | None,
    last_period_label: str = "last quarter",
) -> str:
    """A short sentence comparing a goal's target with last period, for SMART goals.

    ``"needs 2.4× last quarter"`` (ratio rounded half up to one decimal, ``"needs 2×"`` when
    that is whole), ``"just above last quarter"`` when the ratio is above 1 but shows as 1.0,
    ``"same as last quarter"``, ``"below last quarter"``, or ``"no last quarter figure to
    compare with"`` when :func:`realism_ratio` is ``None``.
    """
    ratio = realism_ratio(target_value, last_period_value)
    if ratio is None:
        return f"no {last_period_label} figure to compare with"
    if ratio < 1:
        return f"below {last_period_label}"
    if ratio == 1:
        return f"same as {last_period_label}"
    shown = ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP, context=_RATIO_CONTEXT)
    if shown == 1:
        return f"just above {last_period_label}"
    text = f"{shown:f}".removesuffix(".0")
    return f"needs {text}× {last_period_label}"


# --- exact arithmetic -----------------------------------------------------------------------


def _ceil_div(numerator: Decimal | int, denominator: Decimal | int) -> int:
    """``ceil(numerator / denominator)``, exactly (no rounding before the ceiling)."""
    return math.ceil(Fraction(numerator) / Fraction(denominator))


def _exact_product(a: Decimal | int, b: Decimal | int) -> Decimal:
    """``a × b`` without rounding, whatever the caller's decimal context."""
    a, b = Decimal(a), Decimal(b)
    digits = len(a.as_tuple().digits) + len(b.as_tuple().digits)
    with localcontext() as ctx:
        ctx.prec = digits
        return a * b


def _round_fraction(value: Fraction, quantum: Decimal) -> Decimal:
    """``value`` rounded half up to a multiple of ``quantum`` (a power of ten)."""
    exponent = quantum.as_tuple().exponent
    whole = math.floor(value / Fraction(quantum) + Fraction(1, 2))
    # Built from a string, a Decimal is exact whatever the caller's context.
    return Decimal(f"{whole}E{exponent}")


def _percent(value: Fraction) -> str:
    """``value`` (a fraction) as a percentage with up to two decimals, e.g. ``"90%"``."""
    shown = _round_fraction(value * 100, Decimal("0.01"))
    text = f"{shown:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def conversion_rate(
    reached: int, converted: int, *, places: int = MEASURED_RATE_PLACES
) -> Decimal | None:
    """``converted / reached`` rounded half up to ``places`` decimals; ``None`` when reached is 0.

    The measured rate between two stages: of the leads that reached the first stage in a
    window, the share that went on to reach the second (so it cannot exceed 1 unless the data
    is inconsistent). Raises ``ValueError`` for counts that are not non-negative ints.
    """
    for value in (reached, converted):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"counts must be non-negative ints, got {value!r}")
    if reached == 0:
        return None
    return _round_fraction(Fraction(converted, reached), Decimal(1).scaleb(-places))
