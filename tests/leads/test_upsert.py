"""Bulk upsert by external_id: idempotent, partial success, set-based."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import DomainError
from leads.models import Lead, RoutingAssignment, RoutingRule, StageTransition
from leads.services import leads_upsert
from tests.leads.factories import CampaignFactory, ProductFactory
from tests.leads.helpers import MQL_RULES, SQL_RULES, active_definition

pytestmark = pytest.mark.django_db


def rows(count: int, prefix: str = "crm", **extra) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{index}",
            "email": f"person{index}@{prefix}.example",
            "first_name": "Pat",
            "title": "Director" if index % 2 else "Analyst",
            "country": "de",
            "attributes": {"company_size": 100},
            **extra,
        }
        for index in range(count)
    ]


def test_the_same_payload_twice_creates_nothing_new(marketer):
    active_definition("mql", MQL_RULES, marketer)
    payload = rows(20)
    first = leads_upsert(rows=payload, actor=marketer)
    transitions = StageTransition.objects.count()
    second = leads_upsert(rows=payload, actor=marketer)
    assert (len(first.created), len(first.updated), first.errors) == (20, 0, [])
    assert (second.created, sorted(second.updated), second.errors) == (
        [],
        sorted(first.created),
        [],
    )
    assert Lead.objects.count() == 20
    # The directors qualified once; the second run found them in mql already.
    assert transitions == StageTransition.objects.count() == 10


def test_a_batch_with_bad_rows_saves_the_good_ones_and_reports_each_bad_row(marketer):
    payload = rows(4)
    payload[1]["email"] = "not-an-email"
    payload[2]["country"] = "Germany"
    payload[2]["amount"] = -5
    payload.append({"external_id": "crm-0", "email": "dup@crm.example"})
    payload.append("not an object")
    result = leads_upsert(rows=payload, actor=marketer)
    assert len(result.created) == 2
    assert result.errors == [
        {"index": 1, "errors": {"email": ["“not-an-email” is not a valid email address."]}},
        {
            "index": 2,
            "errors": {
                "country": ["“GERMANY” is not a two-letter country code (e.g. DE, US)."],
                "amount": ["Cannot be negative."],
            },
        },
        {
            "index": 4,
            "errors": {
                "external_id": [
                    "“crm-0” is also in row 0 of this request; each external_id once per request."
                ]
            },
        },
        {"index": 5, "errors": {"non_field_errors": ["Each lead must be a JSON object."]}},
    ]
    assert set(Lead.objects.values_list("external_id", flat=True)) == {"crm-0", "crm-3"}


def test_an_update_changes_only_the_fields_sent_and_rescores(marketer):
    active_definition("mql", MQL_RULES, marketer)
    leads_upsert(
        rows=[{"external_id": "x-1", "email": "a@x.example", "company": "Acme"}], actor=marketer
    )
    result = leads_upsert(rows=[{"external_id": "x-1", "title": "Director"}], actor=marketer)
    lead = Lead.objects.get(external_id="x-1")
    assert result.updated == [lead.pk]
    assert (lead.email, lead.company, lead.title, lead.score, lead.stage) == (
        "a@x.example",
        "Acme",
        "Director",
        20,
        "lead",
    )


def test_rows_without_external_id_are_created_and_products_are_found_by_code(marketer):
    product = ProductFactory(code="crm-suite", name="CRM Suite")
    campaign = CampaignFactory(name="Spring Webinar")
    result = leads_upsert(
        rows=[
            {"email": "a@x.example", "product": "CRM-SUITE", "campaign": "spring webinar"},
            {"email": "b@x.example", "product": product.pk, "campaign": campaign.pk},
            {"email": "c@x.example", "product": "nope"},
        ],
        actor=marketer,
    )
    assert len(result.created) == 2
    assert result.errors == [{"index": 2, "errors": {"product": ["There is no product “nope”."]}}]
    assert set(Lead.objects.values_list("product", "campaign")) == {(product.pk, campaign.pk)}


def test_more_than_a_thousand_rows_is_refused_whole(marketer):
    with pytest.raises(DomainError, match="At most 1,000 leads per request; this one has 1,001"):
        leads_upsert(rows=rows(1001), actor=marketer)
    assert not Lead.objects.exists()


def test_a_bulk_hand_off_routes_round_robin_and_publishes_once(
    marketer, sales_team, rep, other_rep, published
):
    active_definition("sql", SQL_RULES, marketer)
    RoutingRule.objects.create(name="All to East", team=sales_team)
    created = published("lead.created")
    published("lead.handed_off")
    result = leads_upsert(rows=rows(4, title="Director", attributes={"x": 1}), actor=marketer)
    # The SQL definition alone: fit 20 < 60, nobody qualifies yet.
    assert [e.topic for e in created] == ["lead.created"] * 4

    contact = [{"external_id": f"crm-{i}", "title": "Director"} for i in range(4)]
    from leads.models import Event

    Event.objects.bulk_create(
        Event(lead_id=pk, type="contact_sales", occurred_at=Lead.objects.get(pk=pk).created_at)
        for pk in result.created
    )
    created.clear()
    leads_upsert(rows=contact, actor=marketer)
    owners = [e.payload["owner"] for e in created if e.topic == "lead.handed_off"]
    assert sorted(owners) == sorted([rep.pk, other_rep.pk, rep.pk, other_rep.pk])
    # One batch: every hand-off of the request arrived in one call of the listener.
    assert len({e.occurred_at for e in created}) == 1
    assert RoutingAssignment.objects.count() == 4
    # One notification per rep for the batch, not one per lead.
    assert rep.notifications.get().title == "2 new leads for you"


@pytest.mark.parametrize("existing", [False, True])
def test_the_query_count_does_not_grow_with_the_number_of_rows(marketer, existing):
    active_definition("mql", MQL_RULES, marketer)
    active_definition("sql", SQL_RULES, marketer)

    def count(size: int, prefix: str) -> int:
        payload = rows(size, prefix=prefix)
        if existing:
            leads_upsert(rows=payload, actor=marketer)
        with CaptureQueriesContext(connection) as queries:
            result = leads_upsert(rows=payload, actor=marketer)
        assert not result.errors
        return len(queries)

    assert count(10, "small") == count(200, "large")


def test_a_row_the_database_refuses_is_reported_by_index_and_the_others_are_saved(
    marketer, monkeypatch
):
    """A refusal only the database finds (here a check constraint, with validation
    bypassed for one row) costs that row only: the batch is saved by halves around it."""
    from leads.rows import RowValidator

    check = RowValidator.__call__

    def let_a_negative_amount_through(self, row, *, creating):
        values, errors = check(self, row, creating=creating)
        if row.get("external_id") == "crm-2":
            values["amount"] = -1
        return values, errors

    monkeypatch.setattr(RowValidator, "__call__", let_a_negative_amount_through)
    result = leads_upsert(rows=rows(5), actor=marketer)
    assert [error["index"] for error in result.errors] == [2]
    assert "database refused" in result.errors[0]["errors"]["non_field_errors"][0]
    assert len(result.created) == 4
    assert set(Lead.objects.values_list("external_id", flat=True)) == {
        "crm-0",
        "crm-1",
        "crm-3",
        "crm-4",
    }
