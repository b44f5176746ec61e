"""Bulk inserts with COPY: the same rows as `bulk_create`, ids set, constraints kept."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from leads.models import Lead
from leads.services.bulk import rows_insert
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_inserted_leads_get_their_ids_and_read_back_field_by_field(django_assert_num_queries):
    leads = [
        Lead(
            external_id=f"crm-{number}",
            email=f"person{number}@acme.example",
            first_name="Ana",
            last_name="Tab\tand\nnewline" if number == 0 else "Plain",
            country="DE",
            attributes={"company_size": number, "industry": "software", "note": 'ü \\ "q"'},
            amount=Decimal("1250.50") if number == 1 else None,
            created_at=AT,
        )
        for number in range(3)
    ]
    # the ids from the sequence, then the COPY (counted like any other statement)
    with django_assert_num_queries(2):
        rows_insert(leads)

    assert all(lead.pk for lead in leads)
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    first = stored[leads[0].pk]
    assert first.last_name == "Tab\tand\nnewline"
    assert first.attributes == {"company_size": 0, "industry": "software", "note": 'ü \\ "q"'}
    assert first.created_at == AT and first.updated_at is not None
    assert first.stage == "lead" and first.score_details == leads[0].score_details
    assert stored[leads[1].pk].amount == Decimal("1250.50")
    assert stored[leads[2].pk].amount is None


def test_a_duplicate_external_id_is_an_integrity_error_and_inserts_nothing():
    LeadFactory(external_id="crm-7")
    leads = [Lead(external_id=f"crm-{n}", email=f"p{n}@acme.example") for n in (6, 7, 8)]
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(leads)
    assert Lead.objects.count() == 1
