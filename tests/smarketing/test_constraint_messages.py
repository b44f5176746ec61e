"""A refused write never shows a database constraint's name: every check constraint, and every
unique constraint Django cannot word by itself (conditional or expression-based), carries a
message in plain words."""

import pytest
from django.apps import apps
from django.db.models import CheckConstraint, UniqueConstraint

from tests.sla.factories import SLAAgreementFactory

PROJECT_APPS = {"accounts", "leads", "sla", "goals", "personas", "reporting", "webhooks", "core"}


def _constraints():
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for constraint in model._meta.constraints:
            worded_by_django = (
                isinstance(constraint, UniqueConstraint)
                and constraint.fields
                and constraint.condition is None
            )
            if isinstance(constraint, CheckConstraint) or not worded_by_django:
                yield model, constraint


def test_every_constraint_that_can_be_shown_has_a_plain_message():
    found = list(_constraints())
    assert len(found) >= 10
    for model, constraint in found:
        message = str(constraint.violation_error_message)
        assert message != str(constraint.default_violation_error_message), (model, constraint)
        assert constraint.name not in message and "Constraint" not in message


@pytest.mark.django_db
def test_an_agreement_ending_before_it_starts_is_refused_on_its_field(client, manager):
    from sla.forms import AgreementForm

    agreement = SLAAgreementFactory(name="Team SLA")
    data = {
        key: value
        for key, value in AgreementForm(instance=agreement).initial.items()
        if value is not None and not isinstance(value, list)
    }
    client.force_login(manager)
    response = client.post(
        f"/sla/agreements/{agreement.pk}/edit/", {**data, "effective_until": "2019-12-31"}
    )
    form = response.context["form"]
    assert form.errors["effective_until"] == ["The agreement cannot end before it starts."]
    assert "__all__" not in form.errors
    assert "agreement_ends_after_start" not in response.content.decode()


@pytest.mark.django_db
def test_a_number_beyond_the_column_is_refused_in_the_products_terms(client, manager):
    from sla.forms import AgreementForm

    agreement = SLAAgreementFactory(name="Team SLA")
    form = AgreementForm(
        {
            **{
                key: value
                for key, value in AgreementForm(instance=agreement).initial.items()
                if value is not None and not isinstance(value, list)
            },
            "leads_per_product_per_month": "99999999999",
        },
        instance=agreement,
    )
    assert not form.is_valid()
    assert form.errors["leads_per_product_per_month"] == ["At most 1,000,000."]
    assert "2147483647" not in str(form.errors)
