"""Set-based writes: COPY inserts and UPDATE … FROM unnest, on plain rows (no instances)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.bulk import ids_reserve, rows_insert, rows_update
from leads.models import Lead
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def rows(count: int, prefix: str = "crm") -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{number}",
            "email": f"person{number}@acme.example",
            "first_name": "Ana",
            "last_name": "Tab\tand\nnewline" if number == 0 else "Plain",
            "country": "DE",
            "attributes": {"company_size": number, "industry": "software", "note": 'ü \\ "q"'},
            "amount": Decimal("1250.50") if number == 1 else None,
            "created_at": AT,
        }
        for number in range(count)
    ]


def test_inserted_rows_get_their_ids_and_read_back_field_by_field():
    batch = rows(3)
    ids = rows_insert(Lead, batch, now=AT)

    assert ids == [row["id"] for row in batch] and len(set(ids)) == 3
    stored = Lead.objects.in_bulk(ids)
    first = stored[ids[0]]
    assert first.last_name == "Tab\tand\nnewline"
    assert first.attributes == {"company_size": 0, "industry": "software", "note": 'ü \\ "q"'}
    assert first.created_at == AT and first.updated_at == AT
    # Fields a row leaves out take the model's defaults.
    assert first.stage == "lead" and first.score_details == {} and first.company == ""
    assert stored[ids[1]].amount == Decimal("1250.50")
    assert stored[ids[2]].amount is None


def test_an_insert_is_two_statements_whatever_the_number_of_rows():
    def statements(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            rows_insert(Lead, rows(count, prefix=f"size-{count}"))
        return len(queries)

    # The ids from the sequence; the COPY itself does not go through the query log.
    assert statements(2) == statements(300) == 1
    assert Lead.objects.count() == 302


def test_rows_given_their_ids_first_can_be_referred_to_before_they_are_inserted():
    batch = rows(2)
    for row, pk in zip(batch, ids_reserve(Lead, 2), strict=True):
        row["id"] = pk
    assert rows_insert(Lead, batch) == [row["id"] for row in batch]


def test_an_unknown_field_is_refused_before_anything_is_written():
    with pytest.raises(TypeError, match="campaign"):
        rows_insert(Lead, [{"email": "ana@acme.example", "created_at": AT, "campaign": 3}])
    assert not Lead.objects.exists()


def test_a_duplicate_external_id_is_an_integrity_error_and_inserts_nothing():
    LeadFactory(external_id="crm-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Lead, rows(3))
    assert Lead.objects.count() == 1


def test_rows_update_writes_the_fields_of_every_row_in_one_statement():
    leads = [LeadFactory(score=0, attributes={}) for _ in range(4)]
    changes = [
        {"id": lead.pk, "score": number * 10, "attributes": {"n": number}, "country": "FR"}
        for number, lead in enumerate(leads)
    ]
    with CaptureQueriesContext(connection) as queries:
        updated = rows_update(Lead, changes, ["score", "attributes"])
    assert updated == 4 and len(queries) == 1
    for number, lead in enumerate(leads):
        lead.refresh_from_db()
        assert (lead.score, lead.attributes) == (number * 10, {"n": number})
        assert lead.country != "FR"  # not among the fields written
