"""Factories for the leads app's models (used by every app's tests)."""

import datetime as dt

import factory
from django.utils import timezone

from leads.models import Campaign, ContactAttempt, Event, Lead, Product, StageTransition
from leads.services.entries import previous_stages_rebuild


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Product {n}")
    code = factory.Sequence(lambda n: f"product-{n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Campaign.Channel.WEBINAR
    source = "webinar"
    product = factory.SubFactory(ProductFactory)
    cost = 1000


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    title = "Head of Marketing"
    country = "US"
    source = "webinar"
    product = factory.SubFactory(ProductFactory)
    created_at = factory.LazyFunction(timezone.now)


class StageTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageTransition

    lead = factory.SubFactory(LeadFactory)
    from_stage = "lead"
    to_stage = "mql"
    at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def previous_stage(obj, create, extracted, **kwargs):
        """Written outside the moves service: keep where its velocity starts, as it does."""
        if create:
            previous_stages_rebuild([obj.lead_id])


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    lead = factory.SubFactory(LeadFactory)
    type = "email_open"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))


class ContactAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactAttempt

    lead = factory.SubFactory(LeadFactory)
    channel = ContactAttempt.Channel.CALL
    outcome = ContactAttempt.Outcome.NO_ANSWER
    occurred_at = factory.LazyFunction(timezone.now)
