"""`field__any`: the same rows as `field__in`, for plain fields, text keys and foreign keys."""

import pytest

from leads.models import Lead
from tests.leads.factories import LeadFactory


@pytest.fixture
def leads(db):
    return [LeadFactory(email=f"any{i}@example.com", external_id=f"x-{i}") for i in range(4)]


def test_ids_match_as_in(leads):
    wanted = [leads[0].pk, leads[2].pk]
    assert set(Lead.objects.filter(pk__any=wanted)) == set(Lead.objects.filter(pk__in=wanted))


def test_text_keys_from_a_set(leads):
    found = Lead.objects.filter(external_id__any={"x-1", "x-3", "missing"})
    assert sorted(found.values_list("external_id", flat=True)) == ["x-1", "x-3"]


def test_an_empty_collection_matches_nothing(leads):
    assert not Lead.objects.filter(pk__any=[]).exists()


def test_foreign_keys(leads, rep):
    Lead.objects.filter(pk=leads[1].pk).update(owner=rep)
    assert list(Lead.objects.filter(owner_id__any=[rep.pk])) == [leads[1]]
    assert list(Lead.objects.filter(owner__any=[rep.pk])) == [leads[1]]
