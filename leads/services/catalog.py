"""Campaigns and products: the vocabulary marketing keeps, created, edited and archived.

An archived campaign keeps its leads and their history; it leaves the pickers (the lead
edit page, new leads from the API and CSV imports refuse it) until it is unarchived. A
product is archived by making it inactive (`is_active`); it is deleted only while nothing
refers to it, because what refers to it (leads, campaigns, routing rules, plans) would
otherwise lose it or go with it.

Each function checks its input in plain words (`ValidationError` with a message per field)
and is atomic; names and codes are unique whatever their case, since imports and the API
find campaigns by name and products by code without regard to case.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core import bounds
from core.errors import DomainError
from leads.models import Campaign, Product

MAX_CAMPAIGN_COST = Decimal("1000000000.00")  # a billion: beyond it is a typing mistake
CAMPAIGN_FIELDS = ("name", "channel", "source", "product", "cost", "starts_on", "ends_on")
PRODUCT_FIELDS = ("name", "code", "description")


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _campaign_errors(campaign: Campaign) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not campaign.name:
        errors["name"] = ["Give the campaign a name."]
    elif Campaign.objects.filter(name__iexact=campaign.name).exclude(pk=campaign.pk).exists():
        errors["name"] = [f"A campaign named “{campaign.name}” already exists."]
    if campaign.channel not in Campaign.Channel.values:
        errors["channel"] = ["Choose a channel from the list."]
    if not campaign.source:
        errors["source"] = ["Give the lead source the campaign reports under, e.g. webinar."]
    cost = campaign.cost
    if not isinstance(cost, Decimal) or not cost.is_finite():
        errors["cost"] = ["Give the cost as a number, e.g. 1500.00."]
    elif cost < 0:
        errors["cost"] = ["The cost cannot be negative."]
    elif cost > MAX_CAMPAIGN_COST:
        errors["cost"] = [f"The cost can be at most {MAX_CAMPAIGN_COST:,}."]
    for name in ("starts_on", "ends_on"):
        day = getattr(campaign, name)
        if day is not None and bounds.date_problem(day):
            errors[name] = [bounds.date_problem(day)]
    starts_on, ends_on = campaign.starts_on, campaign.ends_on
    if starts_on and ends_on and ends_on < starts_on and "ends_on" not in errors:
        errors["ends_on"] = ["The campaign cannot end before it starts."]
    return errors


def _campaign_save(campaign: Campaign, fields: dict) -> Campaign:
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    for name, value in fields.items():
        if name in ("name", "source"):
            value = _text(value)
        if name == "source":
            value = value.lower()
        if name == "cost" and value is None:
            value = Decimal(0)
        setattr(campaign, name, value)
    errors = _campaign_errors(campaign)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError as exc:  # a twin saved at the same instant
        raise ValidationError(
            {"name": [f"A campaign named “{campaign.name}” already exists."]}
        ) from exc
    return campaign


def campaign_create(*, actor: User | None, **fields) -> Campaign:
    """A new, active campaign from `CAMPAIGN_FIELDS` (channel defaults to other, cost to 0)."""
    return _campaign_save(Campaign(), fields)


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: User | None, **fields) -> Campaign:
    """Change some of a campaign's `CAMPAIGN_FIELDS`; its leads keep it."""
    locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    if locked is None:
        raise DomainError("This campaign no longer exists.")
    return _campaign_save(locked, fields)


def campaign_archive(
    *, campaign: Campaign, actor: User | None, now: dt.datetime | None = None
) -> Campaign:
    """Archive a campaign (once: archiving it again keeps the first instant)."""
    now = now or timezone.now()
    Campaign.objects.filter(pk=campaign.pk, archived_at__isnull=True).update(archived_at=now)
    campaign.refresh_from_db(fields=["archived_at"])
    return campaign


def campaign_unarchive(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Bring an archived campaign back into the pickers."""
    Campaign.objects.filter(pk=campaign.pk).update(archived_at=None)
    campaign.refresh_from_db(fields=["archived_at"])
    return campaign


def _product_errors(product: Product) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    others = Product.objects.exclude(pk=product.pk)
    if not product.name:
        errors["name"] = ["Give the product a name."]
    elif others.filter(name__iexact=product.name).exists():
        errors["name"] = [f"A product named “{product.name}” already exists."]
    code = product.code
    if not code:
        errors["code"] = ["Give the product a short code, e.g. crm."]
    elif not (code.isascii() and code.replace("-", "").replace("_", "").isalnum()):
        errors["code"] = ["Use letters, digits, - and _ only in the code, e.g. crm-pro."]
    elif others.filter(code__iexact=code).exists():
        errors["code"] = [f"Another product has the code “{code}”."]
    return errors


def _product_save(product: Product, fields: dict) -> Product:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"unknown product fields: {sorted(unknown)}")
    for name, value in fields.items():
        value = _text(value) if name != "description" else (value or "")
        if name == "code":
            value = value.lower()
        setattr(product, name, value)
    errors = _product_errors(product)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"name": ["Another product with this name or code was saved at the same time."]}
        ) from exc
    return product


def product_create(*, actor: User | None, **fields) -> Product:
    """A new, active product from `PRODUCT_FIELDS`."""
    return _product_save(Product(), fields)


@transaction.atomic
def product_update(*, product: Product, actor: User | None, **fields) -> Product:
    locked = Product.objects.select_for_update().filter(pk=product.pk).first()
    if locked is None:
        raise DomainError("This product no longer exists.")
    return _product_save(locked, fields)


def product_archive(*, product: Product, actor: User | None) -> Product:
    """Make a product inactive: it leaves pickers, plans and commitments; leads keep it."""
    Product.objects.filter(pk=product.pk).update(is_active=False)
    product.refresh_from_db(fields=["is_active"])
    return product


def product_unarchive(*, product: Product, actor: User | None) -> Product:
    Product.objects.filter(pk=product.pk).update(is_active=True)
    product.refresh_from_db(fields=["is_active"])
    return product


def product_references(product: Product) -> list[tuple[str, int]]:
    """What refers to `product`, as (plural name, count), those with a count only.

    Every relation that points at products, whichever app declares it (one count each)."""
    found = []
    for relation in Product._meta.related_objects:
        model = relation.related_model
        count = model._default_manager.filter(**{relation.field.name: product.pk}).count()
        if count:
            meta = model._meta
            name = meta.verbose_name if count == 1 else meta.verbose_name_plural
            found.append((str(name), count))
    return found


def product_delete(*, product: Product, actor: User | None) -> None:
    """Delete a product nothing refers to; one in use is refused (archive it instead)."""
    with transaction.atomic():
        # The row lock makes a lead or campaign naming the product at this instant wait.
        locked = Product.objects.select_for_update().filter(pk=product.pk).first()
        if locked is None:
            return
        used = product_references(locked)
        if used:
            what = ", ".join(f"{count} {name}" for name, count in used)
            raise DomainError(
                f"“{locked.name}” is in use ({what}), so it cannot be deleted. "
                "Archive it instead: it keeps its history and leaves the pickers."
            )
        locked.delete()
