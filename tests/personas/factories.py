"""Factories for personas, interviews and journey maps."""

import datetime as dt

import factory

from personas.models import Interview, JourneyStage, Persona


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Persona {n}")
    summary = "A buyer we sell to."
    role_title = "Head of Operations"
    status = Persona.Status.ACTIVE


class InterviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interview

    persona = factory.SubFactory(PersonaFactory)
    interviewed_on = dt.date(2026, 1, 15)
    interviewee = factory.Sequence(lambda n: f"Customer {n}")
    trigger = "Growth outpaced spreadsheets."


class JourneyStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JourneyStage
        django_get_or_create = ("persona", "stage")

    persona = factory.SubFactory(PersonaFactory)
    stage = JourneyStage.Stage.AWARENESS
    questions = "Why do we keep missing targets?"
