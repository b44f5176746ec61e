"""SLA agreements: the written contract and its commitments, versioned once clocks use them;
and which agreement covers a hand-off.
"""

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import days
from core.errors import DomainError
from sla import clock_rules
from sla.models import SLAAgreement, SLAClock

AGREEMENT_FIELDS = (
    "name",
    "status",
    "effective_from",
    "effective_until",
    "goals",
    "roles",
    "obligations",
    "lead_management_protocol",
    "handoff_process",
    "compensation_basis",
    "leads_per_product_per_month",
    "commitment_stage",
    "commitment_persona",
    "first_touch_hours",
    "max_attempts",
    "attempt_window_days",
    "warning_share",
    "exhaustion_action",
)


def _agreement_validate(agreement: SLAAgreement) -> None:
    try:
        agreement.full_clean(exclude=["family", "version", "created_by"])
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise DomainError(
            messages[0], field=None if field_name == "__all__" else field_name
        ) from exc


def _same_level_overlap(mine: set[int], theirs: set[int]) -> bool:
    """Both cover everything (empty), or both name some of the same items."""
    if not mine and not theirs:
        return True
    return bool(mine & theirs)


def _conflict_check(agreement: SLAAgreement, products, personas) -> None:
    """Refuse a second active agreement for the same products and personas at the same
    level over overlapping dates: every hand-off would have two contracts and every report
    two commitments. (A product-specific agreement beside a general one is fine: the most
    specific covers the lead.)"""
    if agreement.status != SLAAgreement.Status.ACTIVE:
        return
    # One writer at a time decides, so two concurrent saves cannot both pass.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sla-agreement-coverage'))")
    mine_products = {getattr(p, "pk", p) for p in products}
    mine_personas = {getattr(p, "pk", p) for p in personas}
    others = (
        SLAAgreement.objects.filter(status=SLAAgreement.Status.ACTIVE, superseded_at__isnull=True)
        .exclude(family=agreement.family)
        .prefetch_related("products", "personas")
    )
    for other in others:
        if agreement.effective_until and other.effective_from > agreement.effective_until:
            continue
        if other.effective_until and agreement.effective_from > other.effective_until:
            continue
        if _same_level_overlap(
            mine_products, {p.pk for p in other.products.all()}
        ) and _same_level_overlap(mine_personas, {p.pk for p in other.personas.all()}):
            raise DomainError(
                f"“{other.name}” already covers these products and personas on these dates. "
                "End it first (effective until), or narrow this agreement's products or "
                "personas.",
                field="products",
            )


def agreement_create(
    *, data: dict, products=(), personas=(), actor: User | None = None
) -> SLAAgreement:
    values = {key: data[key] for key in AGREEMENT_FIELDS if key in data}
    agreement = SLAAgreement(created_by=actor, **values)
    _agreement_validate(agreement)
    with transaction.atomic():
        _conflict_check(agreement, products, personas)
        agreement.save()
        agreement.products.set(products)
        agreement.personas.set(personas)
    return agreement


def agreement_update(
    *,
    agreement: SLAAgreement,
    data: dict,
    products=None,
    personas=None,
    actor: User | None = None,
    now: datetime | None = None,
) -> SLAAgreement:
    """Edit an agreement. Once a clock started under it, the edit is a new version (the old
    one is superseded and keeps its clocks); otherwise it is edited in place."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = SLAAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.superseded_at is not None:
            raise DomainError("This agreement version was replaced; edit the current version.")
        products = list(locked.products.all()) if products is None else list(products)
        personas = list(locked.personas.all()) if personas is None else list(personas)
        values = {key: getattr(locked, key) for key in AGREEMENT_FIELDS}
        values.update({key: data[key] for key in AGREEMENT_FIELDS if key in data})
        if SLAClock.objects.filter(agreement=locked).exists():
            current = SLAAgreement(
                family=locked.family, version=locked.version + 1, created_by=actor, **values
            )
            _agreement_validate(current)
            locked.superseded_at = now
            locked.status = SLAAgreement.Status.SUPERSEDED
            locked.save(update_fields=["superseded_at", "status"])
            current.save()
        else:
            for key, value in values.items():
                setattr(locked, key, value)
            _agreement_validate(locked)
            locked.save()
            current = locked
        _conflict_check(current, products, personas)
        current.products.set(products)
        current.personas.set(personas)
    return current


def agreement_delete(*, agreement: SLAAgreement) -> None:
    if SLAClock.objects.filter(agreement__family=agreement.family).exists():
        raise DomainError(
            "Clocks started under this agreement; it is kept as their record. Set an end "
            "date (effective until) to stop it applying to new hand-offs."
        )
    SLAAgreement.objects.filter(family=agreement.family).delete()


def agreement_for(
    coverage: Sequence[tuple[SLAAgreement, frozenset[int], frozenset[int]]],
    lead: dict,
    on: datetime,
):
    """The agreement covering a lead's product/persona on the company day of the instant
    `on` (core.days: effective dates are company days, as every day is); most specific wins.

    `coverage` holds each agreement with the ids of its products and personas (empty: all),
    read once per batch rather than once per lead.
    """
    day = days.local_day(on)
    best, best_key = None, None
    for agreement, product_ids, persona_ids in coverage:
        if agreement.effective_from > day or (
            agreement.effective_until is not None and agreement.effective_until < day
        ):
            continue
        if product_ids and lead["product_id"] not in product_ids:
            continue
        if persona_ids and lead["persona_id"] not in persona_ids:
            continue
        key = (bool(product_ids), bool(persona_ids), agreement.effective_from, agreement.pk)
        if best_key is None or key > best_key:
            best, best_key = agreement, key
    return best


def terms_of(agreement: SLAAgreement) -> clock_rules.Terms:
    return clock_rules.Terms(
        first_touch_hours=agreement.first_touch_hours,
        max_attempts=agreement.max_attempts,
        attempt_window_days=agreement.attempt_window_days,
        warning_share=agreement.warning_share,
    )


Coverage = list[tuple[SLAAgreement, frozenset[int], frozenset[int]]]


def coverage_load() -> Coverage:
    """The active, current agreements with the ids of their products and personas (empty:
    all): what `agreement_for` chooses from, read once per batch (three queries)."""
    return [
        (
            agreement,
            frozenset(p.pk for p in agreement.products.all()),
            frozenset(p.pk for p in agreement.personas.all()),
        )
        for agreement in SLAAgreement.objects.filter(
            status=SLAAgreement.Status.ACTIVE, superseded_at__isnull=True
        ).prefetch_related("products", "personas")
    ]
