"""Bulk upsert by external_id: idempotent, partial success, set-based."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, RoutingAssignment, RoutingRule, StageTransition
from leads.services import leads_upsert
from leads.signals import leads_created, leads_handed_off
from smarketing.api_support import DomainError
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


def test_a_bulk_hand_off_routes_round_robin_and_signals_once(
    marketer, sales_team, rep, other_rep, django_capture_on_commit_callbacks
):
    active_definition("sql", SQL_RULES, marketer)
    RoutingRule.objects.create(name="All to East", team=sales_team)
    created, handed_off = [], []
    leads_created.connect(
        lambda **kw: created.append(kw["lead_ids"]), weak=False, dispatch_uid="t1"
    )
    leads_handed_off.connect(
        lambda **kw: handed_off.append(kw["handoffs"]), weak=False, dispatch_uid="t2"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = leads_upsert(
                rows=rows(4, title="Director", attributes={"x": 1}), actor=marketer
            )
    finally:
        leads_created.disconnect(dispatch_uid="t1")
        leads_handed_off.disconnect(dispatch_uid="t2")
    # The SQL definition alone: fit 20 < 60, nobody qualifies yet.
    assert len(created) == 1 and len(created[0]) == 4 and handed_off == []

    contact = [{"external_id": f"crm-{i}", "title": "Director"} for i in range(4)]
    from leads.models import Event

    Event.objects.bulk_create(
        Event(lead_id=pk, type="contact_sales", occurred_at=Lead.objects.get(pk=pk).created_at)
        for pk in result.created
    )
    leads_handed_off.connect(
        lambda **kw: handed_off.append(kw["handoffs"]), weak=False, dispatch_uid="t3"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            leads_upsert(rows=contact, actor=marketer)
    finally:
        leads_handed_off.disconnect(dispatch_uid="t3")
    assert len(handed_off) == 1
    owners = [h.owner_id for h in handed_off[0]]
    assert sorted(owners) == sorted([rep.pk, other_rep.pk, rep.pk, other_rep.pk])
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


def test_a_lead_created_meanwhile_by_another_request_refuses_the_batch_and_keeps_nothing(
    marketer, django_capture_on_commit_callbacks
):
    """Rows are locked by external_id before the insert, but a new external_id cannot be
    locked: if another request inserts it first, the insert fails, and the moves recorded
    for the batch before it are rolled back with it."""
    from django.db import transaction
    from django.utils import timezone

    from leads.services.records import _leads_save
    from tests.leads.factories import LeadFactory

    active_definition("mql", MQL_RULES, marketer)
    LeadFactory(external_id="crm-1")
    qualifying = Lead(
        external_id="crm-1",
        email="late@crm.example",
        title="Director",
        country="DE",
        attributes={"company_size": 100},
        created_at=timezone.now(),
    )
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(DomainError) as refused,
        transaction.atomic(),
    ):
        _leads_save(
            creates=[qualifying], updates=[], fields=set(), actor=marketer, now=timezone.now()
        )
    assert "at the same time" in str(refused.value)
    assert callbacks == []
    assert Lead.objects.count() == 1 and StageTransition.objects.count() == 0
