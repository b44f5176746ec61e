"""The leads REST API: shapes, permissions, and bad input answered with clear 4xx messages."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import (
    ContactAttempt,
    Lead,
    QualificationDefinition,
    SalesFeedback,
    StageTransition,
)
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory
from tests.leads.helpers import MQL_RULES, SQL_RULES, active_definition

pytestmark = pytest.mark.django_db

LEAD_FIELDS = {
    "id",
    "external_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "country",
    "source",
    "campaign",
    "product",
    "persona",
    "owner",
    "stage",
    "score",
    "attributes",
    "amount",
    "created_at",
    "updated_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
}


def an_hour_ago() -> str:
    return (timezone.now() - dt.timedelta(hours=1)).isoformat()


class TestLeads:
    def test_a_marketer_creates_a_lead_and_gets_every_field_back(self, api_as, marketer):
        product = ProductFactory(code="crm")
        response = api_as(marketer).post(
            "/api/v1/leads/",
            {"email": "ANN@Example.com", "country": "de", "product": "crm", "external_id": "c-1"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert set(body) == LEAD_FIELDS
        assert (body["email"], body["country"], body["product"], body["stage"]) == (
            "ann@example.com",
            "DE",
            product.pk,
            "lead",
        )
        created = dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
        assert created.tzinfo is not None

    def test_stage_and_score_are_read_only_on_patch(self, api_as, marketer):
        lead = LeadFactory()
        response = api_as(marketer).patch(
            f"/api/v1/leads/{lead.pk}/",
            {"stage": "customer", "score": 99, "company": "Acme"},
            format="json",
        )
        assert response.status_code == 200
        lead.refresh_from_db()
        assert (lead.stage, lead.score, lead.company) == ("lead", 0, "Acme")

    def test_a_marketer_deletes_a_lead_and_a_rep_cannot(self, api_as, marketer, rep):
        lead = LeadFactory(owner=rep)
        assert api_as(rep).delete(f"/api/v1/leads/{lead.pk}/").status_code == 403
        assert api_as(marketer).delete(f"/api/v1/leads/{lead.pk}/").status_code == 204
        assert not Lead.objects.exists()

    def test_a_rep_sees_the_leads_of_their_team_only(
        self, api_as, rep, other_rep, outsider_rep, sales_team
    ):
        mine = LeadFactory(owner=rep)
        teammates = LeadFactory(owner=other_rep)
        team_queue = LeadFactory(team=sales_team)
        LeadFactory(owner=outsider_rep)
        LeadFactory()
        response = api_as(rep).get("/api/v1/leads/")
        assert {row["id"] for row in response.json()["results"]} == {
            mine.pk,
            teammates.pk,
            team_queue.pk,
        }
        outsiders = Lead.objects.get(owner=outsider_rep)
        assert api_as(rep).get(f"/api/v1/leads/{outsiders.pk}/").status_code == 404

    def test_the_list_filters(self, api_as, marketer, rep):
        campaign = CampaignFactory()
        old = LeadFactory(created_at=timezone.now() - dt.timedelta(days=10), source="event")
        new = LeadFactory(campaign=campaign, owner=rep, stage="sql")
        client = api_as(marketer)

        def ids(query: str) -> set[int]:
            response = client.get(f"/api/v1/leads/?{query}")
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        cutoff = (timezone.now() - dt.timedelta(days=1)).isoformat().replace("+", "%2B")
        assert ids(f"created_before={cutoff}") == {old.pk}
        assert ids(f"created_after={cutoff}") == {new.pk}
        assert ids("stage=sql") == {new.pk}
        assert ids(f"owner={rep.pk}") == {new.pk}
        assert ids(f"campaign={campaign.pk}") == {new.pk}
        assert ids("source=event") == {old.pk}
        assert ids(f"product={old.product_id}") == {old.pk}

    def test_an_unknown_stage_filter_is_a_400(self, api_as, marketer):
        response = api_as(marketer).get("/api/v1/leads/?stage=won")
        assert response.status_code == 400
        assert "stage" in response.json()["errors"]

    @pytest.mark.parametrize("count", [3, 30])
    def test_the_list_has_a_fixed_number_of_queries(
        self, api_as, rep, other_rep, django_assert_num_queries, count
    ):
        for index in range(count):
            LeadFactory(owner=rep if index % 2 else other_rep)
        client = api_as(rep)
        # token and user, user and group permissions, role groups, count, page
        with django_assert_num_queries(6):
            response = client.get("/api/v1/leads/?page_size=100")
        assert response.json()["count"] == count


class TestBulk:
    def payload(self, count: int) -> list[dict]:
        return [
            {"external_id": f"b-{i}", "email": f"b{i}@example.com", "title": "Director"}
            for i in range(count)
        ]

    def test_the_same_bulk_payload_twice_creates_nothing_new(self, api_as, marketer):
        client = api_as(marketer)
        first = client.post("/api/v1/leads/bulk/", self.payload(5), format="json")
        second = client.post("/api/v1/leads/bulk/", self.payload(5), format="json")
        assert first.status_code == second.status_code == 200
        assert (first.json()["created"], first.json()["updated"]) == (5, 0)
        assert (second.json()["created"], second.json()["updated"]) == (0, 5)
        assert sorted(second.json()["updated_ids"]) == sorted(first.json()["created_ids"])
        assert Lead.objects.count() == 5

    def test_bad_rows_are_reported_with_207_and_good_rows_saved(self, api_as, marketer):
        rows = self.payload(3)
        rows[0]["email"] = "nope"
        rows[2]["external_id"] = "b-1"
        response = api_as(marketer).post("/api/v1/leads/bulk/", rows, format="json")
        assert response.status_code == 207
        body = response.json()
        assert (body["created"], [e["index"] for e in body["errors"]]) == (1, [0, 2])
        assert body["errors"][0]["errors"] == {"email": ["“nope” is not a valid email address."]}
        assert "also in row 1" in body["errors"][1]["errors"]["external_id"][0]

    def test_a_thousand_and_one_rows_is_a_400(self, api_as, marketer):
        response = api_as(marketer).post("/api/v1/leads/bulk/", self.payload(1001), format="json")
        assert response.status_code == 400
        assert "At most 1,000 leads per request" in response.json()["detail"]
        assert not Lead.objects.exists()

    def test_an_object_instead_of_a_list_is_a_400(self, api_as, marketer):
        response = api_as(marketer).post("/api/v1/leads/bulk/", {"email": "a@b.c"}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"non_field_errors": ["Send a JSON list of leads."]}

    def test_a_rep_cannot_bulk_upsert(self, api_as, rep):
        assert api_as(rep).post("/api/v1/leads/bulk/", [], format="json").status_code == 403

    def test_the_bulk_query_count_does_not_grow_with_rows(self, api_as, marketer):
        from django.test.utils import CaptureQueriesContext

        active_definition("mql", MQL_RULES, marketer)
        client = api_as(marketer)

        def queries(count: int, prefix: str) -> int:
            rows = [
                {"external_id": f"{prefix}{i}", "email": f"{prefix}{i}@x.io"} for i in range(count)
            ]
            with CaptureQueriesContext(connection) as captured:
                assert client.post("/api/v1/leads/bulk/", rows, format="json").status_code == 200
            return len(captured)

        assert queries(10, "s") == queries(200, "l")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "is not a valid email address"),
        ({"email": 42}, "email", "Must be text."),
        ({"email": "a@b.io", "attributes": []}, "attributes", "Must be a JSON object."),
        ({"email": "a@b.io", "amount": "lots"}, "amount", "Must be a number."),
        ({"email": "a@b.io", "title": ["x"]}, "title", "Must be text."),
        ({"email": "a@b.io", "country": "DEU"}, "country", "two-letter country code"),
        ({"email": "a@b.io", "created_at": "2026-01-01T10:00:00"}, "created_at", "offset"),
        ({"email": "a@b.io", "emial": "typo"}, "emial", "Unknown field."),
        ({"first_name": "No email"}, "email", "This field is required."),
    ],
)
def test_bad_lead_input_is_a_400_naming_the_field(api_as, marketer, body, field, message):
    response = api_as(marketer).post("/api/v1/leads/", body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field])


def test_a_duplicate_external_id_is_a_400(api_as, marketer):
    LeadFactory(external_id="dup")
    response = api_as(marketer).post(
        "/api/v1/leads/", {"email": "a@b.io", "external_id": "dup"}, format="json"
    )
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["external_id"][0]


def test_malformed_json_is_a_400(api_as, marketer):
    response = api_as(marketer).post(
        "/api/v1/leads/", data='{"email": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


class TestTransitions:
    def test_a_rep_moves_a_lead_of_their_team(self, api_as, rep):
        lead = LeadFactory(owner=rep, stage="sql", created_at=timezone.now() - dt.timedelta(days=1))
        response = api_as(rep).post(
            f"/api/v1/leads/{lead.pk}/transition/", {"to": "opportunity"}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["lead"]["stage"] == "opportunity"
        assert response.json()["transition"]["from_stage"] == "sql"

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"to": "lost", "reason": "x"}, "to", "cannot move from “lead” to “lost”"),
            ({"to": "won"}, "to", "is not a valid choice"),
            ({"to": "disqualified"}, "to", "needs a reason"),
            ({"to": "mql", "at": "2026-01-01T09:00:00"}, "at", "time zone offset"),
            ({"to": "mql", "at": "yesterday"}, "at", "Datetime has wrong format"),
        ],
    )
    def test_an_impossible_move_is_a_400_that_says_why(
        self, api_as, marketer, body, field, message
    ):
        lead = LeadFactory()
        response = api_as(marketer).post(
            f"/api/v1/leads/{lead.pk}/transition/", body, format="json"
        )
        assert response.status_code == 400
        assert message in response.json()["errors"][field][0]
        assert not StageTransition.objects.exists()

    def test_a_move_in_the_future_is_a_400(self, api_as, marketer):
        lead = LeadFactory()
        future = (timezone.now() + dt.timedelta(days=1)).isoformat()
        response = api_as(marketer).post(
            f"/api/v1/leads/{lead.pk}/transition/", {"to": "mql", "at": future}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"]["at"] == ["This cannot be in the future."]

    def test_an_outsider_cannot_move_a_lead_of_another_team(self, api_as, rep, outsider_rep):
        lead = LeadFactory(owner=rep)
        response = api_as(outsider_rep).post(
            f"/api/v1/leads/{lead.pk}/transition/", {"to": "mql"}, format="json"
        )
        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transitions_through_the_api_cannot_both_win(marketer, manager):
    lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=1))
    tokens = [Token.objects.create(user=user).key for user in (marketer, manager)]
    barrier = threading.Barrier(2)
    statuses = []

    def move(token: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            response = client.post(
                f"/api/v1/leads/{lead.pk}/transition/", {"to": "mql"}, format="json"
            )
            statuses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in statuses) == [201, 400]
    refused = next(body for code, body in statuses if code == 400)
    assert refused["errors"]["to"] == ["The lead is already in stage “mql”."]
    assert StageTransition.objects.filter(lead_id=lead.pk).count() == 1


class TestEvents:
    def test_an_event_rescores_and_qualifies_the_lead(self, api_as, marketer):
        definition = active_definition("mql", MQL_RULES, marketer)
        lead = LeadFactory(
            title="Director", country="US", created_at=timezone.now() - dt.timedelta(days=2)
        )
        response = api_as(marketer).post(
            f"/api/v1/leads/{lead.pk}/events/",
            {"type": "webinar_attended", "occurred_at": an_hour_ago(), "properties": {"id": 7}},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert (response.json()["lead"]["stage"], response.json()["lead"]["score"]) == ("mql", 30)
        assert StageTransition.objects.get(lead=lead).definition == definition

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"type": "x", "occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
            ({"type": "not a slug!", "occurred_at": "2026-01-01T10:00:00Z"}, "type"),
            ({"type": "x", "occurred_at": "2026-01-01T10:00:00Z", "properties": [1]}, "properties"),
            ({"occurred_at": "2026-01-01T10:00:00Z"}, "type"),
        ],
    )
    def test_bad_events_are_400s(self, api_as, marketer, body, field):
        lead = LeadFactory()
        response = api_as(marketer).post(f"/api/v1/leads/{lead.pk}/events/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"]


class TestAttemptsAndFeedback:
    def test_the_owner_logs_an_attempt_and_a_teammate_cannot(self, api_as, rep, other_rep, manager):
        lead = LeadFactory(owner=rep, stage="sql", created_at=timezone.now() - dt.timedelta(days=1))
        body = {"channel": "call", "outcome": "no_answer", "occurred_at": an_hour_ago()}
        assert (
            api_as(rep).post(f"/api/v1/leads/{lead.pk}/attempts/", body, format="json").status_code
            == 201
        )
        refused = api_as(other_rep).post(f"/api/v1/leads/{lead.pk}/attempts/", body, format="json")
        assert refused.status_code == 403
        assert "owner (or a manager)" in refused.json()["detail"]
        assert (
            api_as(manager)
            .post(f"/api/v1/leads/{lead.pk}/attempts/", body, format="json")
            .status_code
            == 201
        )
        assert ContactAttempt.objects.filter(lead=lead).count() == 2

    def test_a_marketer_cannot_log_attempts(self, api_as, marketer):
        lead = LeadFactory(owner=marketer)
        body = {"channel": "call", "outcome": "no_answer"}
        assert (
            api_as(marketer)
            .post(f"/api/v1/leads/{lead.pk}/attempts/", body, format="json")
            .status_code
            == 403
        )

    @pytest.mark.parametrize(
        ("reason", "stage"),
        [("not_ready", "recycled"), ("bad_fit", "disqualified"), ("duplicate", "recycled")],
    )
    def test_a_rejection_moves_the_lead_with_its_reason(self, api_as, marketer, rep, reason, stage):
        sql = active_definition("sql", SQL_RULES, marketer)
        lead = LeadFactory(
            owner=rep,
            stage="sql",
            sql_definition=sql,
            created_at=timezone.now() - dt.timedelta(days=1),
        )
        response = api_as(rep).post(
            f"/api/v1/leads/{lead.pk}/feedback/",
            {"accepted": False, "rating": 2, "reason": reason, "comment": "call back in Q3"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["lead"]["stage"] == stage
        feedback = SalesFeedback.objects.get(lead=lead)
        assert (feedback.definition, feedback.author, feedback.reason) == (sql, rep, reason)
        assert StageTransition.objects.get(lead=lead).reason == reason

    def test_an_acceptance_moves_forward_only_when_the_rep_says_so(self, api_as, rep):
        lead = LeadFactory(owner=rep, stage="sql", created_at=timezone.now() - dt.timedelta(days=1))
        url = f"/api/v1/leads/{lead.pk}/feedback/"
        kept = api_as(rep).post(url, {"accepted": True, "rating": 4}, format="json")
        assert kept.json()["lead"]["stage"] == "sql"
        moved = api_as(rep).post(
            url, {"accepted": True, "rating": 5, "advance": True}, format="json"
        )
        assert moved.json()["lead"]["stage"] == "opportunity"

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"accepted": True, "rating": 0}, "rating", "greater than or equal to 1"),
            ({"accepted": True, "rating": 6}, "rating", "less than or equal to 5"),
            ({"accepted": False, "rating": 3}, "reason", "A rejection needs a reason."),
            ({"accepted": False, "rating": 3, "reason": "meh"}, "reason", "not a valid choice"),
            ({"rating": 3}, "accepted", "This field is required."),
        ],
    )
    def test_bad_feedback_is_a_400(self, api_as, rep, body, field, message):
        lead = LeadFactory(owner=rep, stage="sql")
        response = api_as(rep).post(f"/api/v1/leads/{lead.pk}/feedback/", body, format="json")
        assert response.status_code == 400
        assert message in response.json()["errors"][field][0]
        assert not SalesFeedback.objects.exists()

    def test_feedback_on_a_lead_not_handed_off_is_a_400(self, api_as, rep):
        lead = LeadFactory(owner=rep, stage="mql")
        response = api_as(rep).post(
            f"/api/v1/leads/{lead.pk}/feedback/", {"accepted": True, "rating": 3}, format="json"
        )
        assert response.status_code == 400
        assert "handed off to sales" in response.json()["detail"]


class TestAssign:
    def test_a_manager_assigns_a_lead(self, api_as, manager, rep):
        lead = LeadFactory()
        response = api_as(manager).post(
            f"/api/v1/leads/{lead.pk}/assign/", {"owner": rep.pk}, format="json"
        )
        assert response.status_code == 201
        assert response.json()["lead"]["owner"] == rep.pk

    def test_an_unknown_owner_is_a_400(self, api_as, manager):
        lead = LeadFactory()
        response = api_as(manager).post(
            f"/api/v1/leads/{lead.pk}/assign/", {"owner": 999999}, format="json"
        )
        assert response.status_code == 400
        assert "does not exist" in response.json()["errors"]["owner"][0]

    def test_an_owner_who_is_not_in_sales_is_a_400(self, api_as, manager, marketer):
        lead = LeadFactory()
        response = api_as(manager).post(
            f"/api/v1/leads/{lead.pk}/assign/", {"owner": marketer.pk}, format="json"
        )
        assert response.status_code == 400
        assert "is not in sales" in response.json()["errors"]["owner"][0]

    def test_a_rep_does_not_reassign_leads_as_in_the_ui(self, api_as, rep, other_rep):
        """A rep who could reassign a teammate's lead to themselves could then move it:
        reassigning is marketing's and managers' (leads/selectors.py), on every face."""
        lead = LeadFactory(owner=other_rep)
        url = f"/api/v1/leads/{lead.pk}/assign/"
        assert api_as(rep).post(url, {"owner": rep.pk}, format="json").status_code == 403
        lead.refresh_from_db()
        assert lead.owner == other_rep


class TestProductsAndCampaigns:
    def test_marketing_manages_products_and_sales_reads_them(self, api_as, marketer, rep):
        created = api_as(marketer).post(
            "/api/v1/products/", {"name": "CRM", "code": "crm"}, format="json"
        )
        assert created.status_code == 201
        assert api_as(rep).get("/api/v1/products/").json()["count"] == 1
        assert (
            api_as(rep)
            .post("/api/v1/products/", {"name": "X", "code": "x"}, format="json")
            .status_code
            == 403
        )
        duplicate = api_as(marketer).post(
            "/api/v1/products/", {"name": "CRM 2", "code": "crm"}, format="json"
        )
        assert duplicate.status_code == 400 and "code" in duplicate.json()["errors"]

    def test_a_campaign_cannot_end_before_it_starts_or_cost_less_than_nothing(
        self, api_as, marketer
    ):
        body = {
            "name": "Spring",
            "source": "webinar",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-01",
            "cost": "-1",
        }
        response = api_as(marketer).post("/api/v1/campaigns/", body, format="json")
        assert response.status_code == 400
        assert (
            set(response.json()["errors"]) == {"ends_on", "cost"}
            or "cost" in response.json()["errors"]
        )
        body["cost"] = "500"
        response = api_as(marketer).post("/api/v1/campaigns/", body, format="json")
        assert response.json()["errors"] == {"ends_on": ["A campaign cannot end before it starts."]}


class TestDefinitions:
    def test_marketing_drafts_and_a_manager_activates(self, api_as, marketer, manager):
        created = api_as(marketer).post(
            "/api/v1/definitions/",
            {"stage": "mql", "name": "v1", "rules": MQL_RULES},
            format="json",
        )
        assert created.status_code == 201, created.json()
        url = f"/api/v1/definitions/{created.json()['id']}/"
        assert api_as(marketer).post(url + "activate/").status_code == 403
        activated = api_as(manager).post(url + "activate/")
        assert activated.status_code == 202
        assert activated.json()["status"] == "pending"
        run_url = f"/api/v1/rescore-runs/{activated.json()['id']}/"
        assert api_as(marketer).get(run_url).json()["definition"] == created.json()["id"]
        edit = api_as(marketer).patch(url, {"name": "v1b"}, format="json")
        assert edit.status_code == 400
        assert "create a new version" in edit.json()["detail"]
        assert QualificationDefinition.objects.get().status == "active"

    def test_invalid_rules_are_a_400_on_the_rules_field(self, api_as, marketer):
        response = api_as(marketer).post(
            "/api/v1/definitions/",
            {"stage": "mql", "name": "v1", "rules": {"threshold": "high"}},
            format="json",
        )
        assert response.status_code == 400
        assert "threshold: Must be a whole number" in response.json()["errors"]["rules"][0]

    def test_a_rep_reads_definitions_but_cannot_draft_them(self, api_as, rep):
        assert api_as(rep).get("/api/v1/definitions/").status_code == 200
        response = api_as(rep).post(
            "/api/v1/definitions/",
            {"stage": "mql", "name": "x", "rules": {"threshold": 1}},
            format="json",
        )
        assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_batches_sharing_a_new_external_id_both_succeed_row_by_row(marketer):
    """Both batches create `shared-1`: one creates it, the other (waiting on its lock)
    updates it; no row of either batch is refused and there is one lead."""
    token = Token.objects.create(user=marketer).key
    barrier = threading.Barrier(2)
    answers = []

    def upsert(prefix: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        rows = [
            {"external_id": "shared-1", "email": "shared@example.com", "company": prefix},
            *(
                {"external_id": f"{prefix}-{n}", "email": f"{prefix}{n}@example.com"}
                for n in range(50)
            ),
        ]
        try:
            barrier.wait()
            response = client.post("/api/v1/leads/bulk/", rows, format="json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=upsert, args=(prefix,)) for prefix in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in answers] == [200, 200], answers
    assert sorted((body["created"], body["updated"]) for _, body in answers) == [(50, 1), (51, 0)]
    assert Lead.objects.filter(external_id="shared-1").count() == 1
    assert Lead.objects.count() == 101


def test_the_report_filters_are_the_lead_list_filters():
    from leads.api.serializers import ReportFiltersSerializer
    from leads.api.views import LeadFilter
    from leads.selectors import REPORT_FILTERS

    assert set(ReportFiltersSerializer().fields) == set(REPORT_FILTERS)
    assert set(REPORT_FILTERS) <= set(LeadFilter.base_filters)
