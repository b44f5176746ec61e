import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from leads.models import ContactAttempt, SalesFeedback
from leads.services import (
    contact_attempt_log,
    definition_create,
    lead_assign,
    lead_event_record,
    lead_transition,
)
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
RULES = {
    "threshold": 30,
    "fit": [{"points": 20, "attribute": "title", "operator": "contains", "value": "director"}],
    "engagement": {"webinar_attended": 10},
    "hand_raisers": ["demo_request"],
}


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def htmx(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


def exported(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- the list -----------------------------------------------------------------------------------


class TestLeadList:
    def test_a_rep_sees_the_leads_of_their_team_only(self, client, rep, other_rep, outsider_rep):
        mine = LeadFactory(owner=rep, email="mine@example.com")
        teammates = LeadFactory(owner=other_rep, email="teammate@example.com")
        routed_to_team = LeadFactory(team=rep.team, email="team@example.com")
        LeadFactory(owner=outsider_rep, email="outsider@example.com")
        LeadFactory(email="unassigned@example.com")
        client.force_login(rep)
        html = client.get(reverse("leads:index")).content.decode()
        for lead in (mine, teammates, routed_to_team):
            assert lead.email in html
        assert "outsider@example.com" not in html
        assert "unassigned@example.com" not in html

    def test_marketing_and_managers_see_every_lead(self, client, marketer, manager, outsider_rep):
        LeadFactory(owner=outsider_rep, email="outsider@example.com")
        LeadFactory(email="unassigned@example.com")
        for user in (marketer, manager):
            client.force_login(user)
            html = client.get(reverse("leads:index")).content.decode()
            assert "outsider@example.com" in html and "unassigned@example.com" in html

    def test_stage_badges_and_search_by_name_email_or_company(self, client, marketer):
        LeadFactory(first_name="Ada", last_name="Lovelace", company="Engines Ltd", stage="mql")
        LeadFactory(first_name="Grace", last_name="Hopper", company="Navy", email="g@navy.mil")
        client.force_login(marketer)
        for query in ("lovelace", "engines", "ADA"):
            html = client.get(reverse("leads:index"), {"q": query}).content.decode()
            assert "Lovelace" in html and "Hopper" not in html
            assert '<span class="badge stage-badge stage-mql">MQL</span>' in html
        html = client.get(reverse("leads:index"), {"q": "navy.mil"}).content.decode()
        assert "Hopper" in html and "Lovelace" not in html

    def test_filters_combine(self, client, marketer, rep):
        product = ProductFactory(name="Analytics", code="analytics")
        campaign = CampaignFactory(name="Spring webinar", product=product)
        match = LeadFactory(
            stage="sql", owner=rep, source="webinar", product=product, campaign=campaign
        )
        LeadFactory(stage="sql", owner=rep, source="webinar", product=product)  # no campaign
        LeadFactory(stage="mql", owner=rep, source="webinar", product=product, campaign=campaign)
        client.force_login(marketer)
        response = client.get(
            reverse("leads:index"),
            {
                "stage": "sql",
                "owner": rep.pk,
                "source": "webinar",
                "product": product.pk,
                "campaign": campaign.pk,
            },
        )
        rows = response.content.decode().count('data-testid="lead-row"')
        assert rows == 1
        assert match.email in response.content.decode()

    def test_unassigned_leads_can_be_listed(self, client, marketer, rep):
        LeadFactory(owner=rep, email="owned@example.com")
        LeadFactory(email="nobody@example.com")
        client.force_login(marketer)
        html = client.get(reverse("leads:index"), {"owner": "none"}).content.decode()
        assert "nobody@example.com" in html and "owned@example.com" not in html

    def test_the_created_range_is_read_in_the_viewers_time_zone(self, client, rep):
        # 03:00 UTC on 2 March is still 1 March in New York (the rep's zone).
        late = LeadFactory(
            owner=rep,
            email="late@example.com",
            created_at=dt.datetime(2026, 3, 2, 3, tzinfo=dt.UTC),
        )
        LeadFactory(
            owner=rep,
            email="next@example.com",
            created_at=dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC),
        )
        client.force_login(rep)
        html = client.get(
            reverse("leads:index"), {"created_after": "2026-03-01", "created_before": "2026-03-01"}
        ).content.decode()
        assert late.email in html and "next@example.com" not in html

    def test_a_bad_filter_is_reported_and_the_others_still_apply(self, client, marketer):
        LeadFactory(stage="mql", email="mql@example.com")
        LeadFactory(stage="lead", email="lead@example.com")
        client.force_login(marketer)
        response = client.get(
            reverse("leads:index"),
            {"stage": "mql", "created_after": "yesterday-ish", "product": "999999", "owner": "x"},
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Some filters were left out" in html
        assert "Enter a valid date." in html
        assert "mql@example.com" in html and "lead@example.com" not in html

    def test_a_reversed_date_range_says_so(self, client, marketer):
        client.force_login(marketer)
        html = client.get(
            reverse("leads:index"), {"created_after": "2026-03-05", "created_before": "2026-03-01"}
        ).content.decode()
        assert "This date is before the “created from” date." in html

    def test_the_list_is_paginated_with_a_pinned_query_count(
        self, client, marketer, rep, django_assert_num_queries
    ):
        product = ProductFactory()
        campaign = CampaignFactory(product=product)
        LeadFactory.create_batch(60, owner=rep, product=product, campaign=campaign)
        client.force_login(marketer)
        client.get(reverse("leads:index"))
        # session, user, groups, bell count, owner choices, campaign, product and persona
        # choices, lead count, one page of leads with owner/campaign/product/persona joined
        with django_assert_num_queries(10):
            response = client.get(reverse("leads:index"))
        assert response.content.decode().count('data-testid="lead-row"') == 50
        LeadFactory.create_batch(40, owner=rep, product=product, campaign=campaign)
        with django_assert_num_queries(10):
            client.get(reverse("leads:index"), {"page": 2})

    def test_htmx_filtering_answers_only_the_table(self, client, marketer):
        LeadFactory(stage="mql")
        client.force_login(marketer)
        response = client.get(reverse("leads:index"), {"stage": "mql"}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert "<html" not in html
        assert 'data-testid="lead-row"' in html
        assert 'id="export-link"' in html and "stage=mql" in html


class TestExport:
    def test_the_export_holds_the_filtered_leads_with_the_api_field_names(self, client, marketer):
        product = ProductFactory(code="analytics")
        lead = LeadFactory(stage="mql", product=product, company="=HYPERLINK(evil)")
        LeadFactory(stage="lead")
        client.force_login(marketer)
        response = client.get(reverse("leads:export"), {"stage": "mql"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response.streaming
        rows = exported(response)
        assert [row["id"] for row in rows] == [str(lead.pk)]
        row = rows[0]
        assert row["email"] == lead.email
        assert row["product"] == "analytics"
        assert row["stage"] == "mql"
        assert row["company"] == "'=HYPERLINK(evil)"  # never run as a formula
        assert dt.datetime.fromisoformat(row["created_at"]) == lead.created_at

    def test_a_rep_exports_only_their_teams_leads(self, client, rep, outsider_rep):
        LeadFactory(owner=rep)
        LeadFactory(owner=outsider_rep)
        client.force_login(rep)
        rows = exported(client.get(reverse("leads:export")))
        assert len(rows) == 1

    def test_the_export_query_count_does_not_grow_with_the_leads(self, client, marketer):
        def queries_for_export() -> int:
            with CaptureQueriesContext(connection) as queries:
                rows = exported(client.get(reverse("leads:export")))
            return len(queries), len(rows)

        client.force_login(marketer)
        LeadFactory.create_batch(5)
        small = queries_for_export()
        LeadFactory.create_batch(250)
        large = queries_for_export()
        assert small[1] == 5 and large[1] == 255
        assert small[0] == large[0]


# -- the lead page ------------------------------------------------------------------------------


@pytest.fixture
def sql_lead(rep):
    lead = LeadFactory(owner=rep, created_at=days_ago(10), title="Marketing Director")
    lead_transition(lead=lead, to_stage="mql", actor=None, reason="score", at=days_ago(9))
    lead_transition(lead=lead, to_stage="sql", actor=None, reason="handed off", at=days_ago(8))
    lead.refresh_from_db()
    return lead


class TestLeadPage:
    def test_the_timeline_merges_everything_newest_first(self, client, rep, manager, sql_lead):
        lead_event_record(lead=sql_lead, type="webinar_attended", occurred_at=days_ago(7))
        contact_attempt_log(
            lead=sql_lead,
            actor=rep,
            channel="call",
            outcome="no_answer",
            occurred_at=days_ago(6),
            note="Voicemail full",
        )
        lead_assign(lead=sql_lead, owner=manager, actor=manager, reason="Covering for Ravi")
        client.force_login(manager)
        html = client.get(reverse("leads:detail", args=[sql_lead.pk])).content.decode()
        kinds = [part.split('"')[0] for part in html.split('data-testid="timeline-')[1:] if part]
        assert kinds == ["assignment", "attempt", "event", "transition", "transition"]
        assert "Voicemail full" in html
        assert "Covering for Ravi" in html
        assert "webinar_attended" in html

    def test_a_transition_shows_the_definition_version_and_the_actor(self, client, marketer):
        definition = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        lead = LeadFactory(created_at=days_ago(3))
        lead_transition(
            lead=lead, to_stage="mql", actor=marketer, reason="fits", definition=definition
        )
        client.force_login(marketer)
        html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert f"qualified by MQL v{definition.version}" in html
        assert f"by {marketer}" in html

    def test_the_score_lists_its_items_and_they_add_up(self, client, marketer):
        lead = LeadFactory(created_at=days_ago(3), title="Sales Director")
        lead.score, lead.fit_score, lead.engagement_score = 40, 20, 20
        lead.score_details = {
            "primary": "mql",
            "mql": {
                "definition": {"id": 1, "version": 2, "name": "Spring"},
                "fit_score": 20,
                "engagement_score": 20,
                "score": 40,
                "qualified": True,
                "hand_raised_by": None,
                "items": [
                    {"kind": "fit", "label": "title contains director", "points": 20},
                    {
                        "kind": "event",
                        "label": "webinar_attended: 2 events × 10 points = 20",
                        "points": 20,
                        "count": 2,
                    },
                ],
            },
        }
        lead.save()
        client.force_login(marketer)
        html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert "title contains director" in html
        assert "webinar_attended: 2 events × 10 points = 20" in html
        assert 'data-testid="score-items-total">40<' in html
        assert "MQL v2" in html

    def test_the_page_has_a_pinned_query_count(
        self, client, rep, sql_lead, django_assert_num_queries
    ):
        for day in range(5):
            contact_attempt_log(
                lead=sql_lead,
                actor=rep,
                channel="email",
                outcome="no_answer",
                occurred_at=days_ago(7 - day),
            )
        client.force_login(rep)
        client.get(reverse("leads:detail", args=[sql_lead.pk]))
        # session, user, groups, bell, the lead with its relations, events, transitions,
        # attempts, feedback, assignments
        with django_assert_num_queries(10):
            client.get(reverse("leads:detail", args=[sql_lead.pk]))

    def test_a_rep_of_another_team_cannot_open_the_lead(self, client, outsider_rep, sql_lead):
        client.force_login(outsider_rep)
        assert client.get(reverse("leads:detail", args=[sql_lead.pk])).status_code == 404

    def test_the_move_form_offers_only_moves_the_lifecycle_allows(self, client, rep, sql_lead):
        client.force_login(rep)
        html = client.get(reverse("leads:detail", args=[sql_lead.pk])).content.decode()
        form = html.split('data-testid="transition-form"')[1].split("</form>")[0]
        assert 'value="opportunity"' in form and 'value="disqualified"' in form
        assert 'value="lead"' not in form and 'value="lost"' not in form


class TestLeadActions:
    def test_the_owner_logs_an_attempt_in_their_own_time_zone(self, client, rep, sql_lead):
        client.force_login(rep)
        local = timezone.localtime(days_ago(1), NEW_YORK).replace(second=0, microsecond=0)
        response = htmx(
            client,
            reverse("leads:attempt", args=[sql_lead.pk]),
            {
                "channel": "call",
                "outcome": "connected",
                "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
                "note": "Talked budget",
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="lead-live"')  # a partial, not a page
        assert "The contact attempt is logged." in html
        assert "Talked budget" in html
        attempt = ContactAttempt.objects.get(lead=sql_lead)
        assert attempt.occurred_at == local
        assert attempt.actor == rep

    def test_the_attempt_form_defaults_to_now_in_the_users_zone(self, client, rep, sql_lead):
        client.force_login(rep)
        html = client.get(reverse("leads:detail", args=[sql_lead.pk])).content.decode()
        now_there = timezone.localtime(timezone.now(), NEW_YORK)
        assert f'value="{now_there:%Y-%m-%dT%H:}' in html

    def test_a_refused_attempt_keeps_what_was_typed(self, client, rep, sql_lead):
        client.force_login(rep)
        future = timezone.localtime(timezone.now() + dt.timedelta(days=2), NEW_YORK)
        response = htmx(
            client,
            reverse("leads:attempt", args=[sql_lead.pk]),
            {
                "channel": "meeting",
                "outcome": "meeting_booked",
                "occurred_at": future.strftime("%Y-%m-%dT%H:%M"),
                "note": "Keep this note",
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "This cannot be in the future." in html
        assert "Keep this note" in html
        assert 'value="meeting" selected' in html
        assert not ContactAttempt.objects.exists()

    def test_a_malformed_attempt_without_htmx_is_a_400(self, client, rep, sql_lead):
        client.force_login(rep)
        response = client.post(
            reverse("leads:attempt", args=[sql_lead.pk]),
            {"channel": "pigeon", "outcome": "connected", "occurred_at": "soon"},
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "Select a valid choice." in html and "Enter a valid date/time." in html

    def test_only_the_owner_or_a_manager_logs_attempts(self, client, other_rep, manager, sql_lead):
        data = {
            "channel": "call",
            "outcome": "no_answer",
            "occurred_at": timezone.localtime(days_ago(1), NEW_YORK).strftime("%Y-%m-%dT%H:%M"),
        }
        client.force_login(other_rep)
        assert htmx(client, reverse("leads:attempt", args=[sql_lead.pk]), data).status_code == 403
        client.force_login(manager)
        assert htmx(client, reverse("leads:attempt", args=[sql_lead.pk]), data).status_code == 200
        assert ContactAttempt.objects.get().actor == manager

    def test_moving_a_lead_swaps_the_header(self, client, rep, sql_lead):
        client.force_login(rep)
        response = htmx(
            client,
            reverse("leads:transition", args=[sql_lead.pk]),
            {"to_stage": "opportunity", "reason": "Budget confirmed"},
        )
        html = response.content.decode()
        assert 'data-testid="lead-stage">Opportunity<' in html
        sql_lead.refresh_from_db()
        assert sql_lead.stage == "opportunity"

    def test_an_exit_without_a_reason_is_refused_in_place(self, client, rep, sql_lead):
        client.force_login(rep)
        html = htmx(
            client, reverse("leads:transition", args=[sql_lead.pk]), {"to_stage": "disqualified"}
        ).content.decode()
        assert "Say why the lead moves to Disqualified." in html
        sql_lead.refresh_from_db()
        assert sql_lead.stage == "sql"

    def test_a_move_the_lifecycle_forbids_is_refused(self, client, rep, sql_lead):
        client.force_login(rep)
        html = htmx(
            client, reverse("leads:transition", args=[sql_lead.pk]), {"to_stage": "lost"}
        ).content.decode()
        assert "Select a valid choice" in html
        sql_lead.refresh_from_db()
        assert sql_lead.stage == "sql"

    def test_a_manager_reassigns_and_the_new_owner_is_notified(
        self, client, manager, other_rep, sql_lead
    ):
        client.force_login(manager)
        html = htmx(
            client,
            reverse("leads:assign", args=[sql_lead.pk]),
            {"owner": other_rep.pk, "reason": "Ravi is on holiday"},
        ).content.decode()
        assert "Ravi is on holiday" in html
        sql_lead.refresh_from_db()
        assert sql_lead.owner == other_rep
        notification = Notification.objects.get(user=other_rep, kind="lead_assigned")
        assert notification.url == sql_lead.get_absolute_url()

    def test_a_rep_cannot_reassign(self, client, rep, other_rep, sql_lead):
        client.force_login(rep)
        response = htmx(
            client, reverse("leads:assign", args=[sql_lead.pk]), {"owner": other_rep.pk}
        )
        assert response.status_code == 403
        sql_lead.refresh_from_db()
        assert sql_lead.owner == rep

    def test_assigning_to_a_marketer_is_not_offered(self, client, manager, marketer, sql_lead):
        client.force_login(manager)
        html = htmx(
            client, reverse("leads:assign", args=[sql_lead.pk]), {"owner": marketer.pk}
        ).content.decode()
        assert "Select a valid choice" in html

    def test_rejecting_as_not_ready_recycles_the_lead(self, client, rep, sql_lead):
        client.force_login(rep)
        html = htmx(
            client,
            reverse("leads:feedback", args=[sql_lead.pk]),
            {"accepted": "no", "rating": "2", "reason": "not_ready", "comment": "Next year"},
        ).content.decode()
        assert "You rejected the lead." in html
        sql_lead.refresh_from_db()
        assert sql_lead.stage == "recycled"
        feedback = SalesFeedback.objects.get(lead=sql_lead)
        assert (feedback.accepted, feedback.rating, feedback.comment) == (False, 2, "Next year")

    def test_a_rejection_needs_a_reason(self, client, rep, sql_lead):
        client.force_login(rep)
        html = htmx(
            client,
            reverse("leads:feedback", args=[sql_lead.pk]),
            {"accepted": "no", "rating": "2", "comment": "Meh"},
        ).content.decode()
        assert "Choose why you reject the lead." in html
        assert "Meh" in html
        assert not SalesFeedback.objects.exists()

    def test_feedback_on_a_lead_not_with_sales_says_why(self, client, rep):
        lead = LeadFactory(owner=rep, created_at=days_ago(2))
        client.force_login(rep)
        html = htmx(
            client, reverse("leads:feedback", args=[lead.pk]), {"accepted": "yes", "rating": "4"}
        ).content.decode()
        assert "Feedback is for leads handed off to sales" in html


# -- definitions --------------------------------------------------------------------------------


class TestDefinitionsPage:
    def test_versions_side_by_side_with_the_leads_each_qualified(self, client, marketer):
        v1 = definition_create(stage="mql", name="Winter", rules=RULES, actor=marketer)
        v2 = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        sql = definition_create(
            stage="sql", name="Hand-off", rules={**RULES, "threshold": 60}, actor=marketer
        )
        for _ in range(3):
            lead = LeadFactory(created_at=days_ago(2))
            lead_transition(lead=lead, to_stage="mql", reason="score", definition=v1)
        lead = LeadFactory(created_at=days_ago(2))
        lead_transition(lead=lead, to_stage="mql", reason="score", definition=v2)
        client.force_login(marketer)
        html = client.get(reverse("leads:definitions")).content.decode()
        mql = html.split('data-testid="definitions-mql"')[1].split('data-testid="definitions-sql"')[
            0
        ]
        assert mql.index("Spring") < mql.index("Winter")  # newest version first
        card = html.split(f'data-testid="definition-{v1.pk}"')[1]
        assert 'data-testid="qualified-count">3<' in card.split("</article>")[0]
        card = html.split(f'data-testid="definition-{v2.pk}"')[1]
        assert 'data-testid="qualified-count">1<' in card.split("</article>")[0]
        assert (
            f'data-testid="definition-{sql.pk}"' in html.split('data-testid="definitions-sql"')[1]
        )
        assert "+20 title contains director" in html
        assert "webinar_attended: 10 pts each" in html
        assert "Qualify alone:</strong> demo_request" in html

    def test_the_page_has_a_pinned_query_count(self, client, marketer, django_assert_num_queries):
        for index in range(6):
            draft = definition_create(
                stage="mql" if index % 2 else "sql", name=f"V{index}", rules=RULES, actor=marketer
            )
            lead = LeadFactory(created_at=days_ago(2))
            lead_transition(lead=lead, to_stage=draft.stage, reason="score", definition=draft)
        client.force_login(marketer)
        client.get(reverse("leads:definitions"))
        # session, user, groups, bell, every version with its qualified count, latest run
        with django_assert_num_queries(6):
            response = client.get(reverse("leads:definitions"))
        assert response.content.decode().count('data-testid="qualified-count">1<') == 6

    def test_a_draft_with_broken_json_gets_a_clear_message(self, client, marketer):
        client.force_login(marketer)
        response = client.post(
            reverse("leads:definitions"),
            {"stage": "mql", "name": "Broken", "rules": '{"threshold": 30,}'},
        )
        assert response.status_code == 400
        assert "This is not valid JSON" in response.content.decode()
        assert "line 1" in response.content.decode()

    def test_a_draft_with_invalid_rules_names_the_rule(self, client, marketer):
        client.force_login(marketer)
        response = client.post(
            reverse("leads:definitions"),
            {
                "stage": "mql",
                "name": "Bad operator",
                "rules": '{"threshold": 30, "fit": [{"points": 5, "attribute": "title", '
                '"operator": "like", "value": "x"}]}',
            },
        )
        assert response.status_code == 400
        assert "fit[0].operator: Unknown operator" in response.content.decode()

    def test_marketing_saves_a_draft(self, client, marketer):
        import json

        client.force_login(marketer)
        response = client.post(
            reverse("leads:definitions"),
            {"stage": "sql", "name": "Tighter", "rules": json.dumps(RULES)},
        )
        assert response.status_code == 302
        html = client.get(reverse("leads:definitions")).content.decode()
        assert "Tighter" in html and "Draft" in html

    def test_a_rep_cannot_draft_or_activate(self, client, rep, marketer):
        draft = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        client.force_login(rep)
        html = client.get(reverse("leads:definitions")).content.decode()
        assert "New draft version" not in html and ">Activate<" not in html
        assert client.post(reverse("leads:definitions"), {"stage": "mql"}).status_code == 403
        url = reverse("leads:definition_activate", args=[draft.pk])
        assert client.post(url).status_code == 403

    def test_marketing_cannot_activate(self, client, marketer):
        draft = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        client.force_login(marketer)
        response = client.post(reverse("leads:definition_activate", args=[draft.pk]))
        assert response.status_code == 403

    def test_a_manager_activates_and_sees_the_rescoring_progress(self, client, manager, marketer):
        LeadFactory.create_batch(3, created_at=days_ago(1))
        draft = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        client.force_login(manager)
        response = client.post(reverse("leads:definition_activate", args=[draft.pk]))
        assert response.status_code == 302
        draft.refresh_from_db()
        assert draft.status == "active"
        html = client.get(reverse("leads:definitions")).content.decode()
        assert 'data-testid="rescore-progress"' in html
        run = draft.rescore_runs.get()
        partial = client.get(reverse("leads:rescore_progress", args=[run.pk])).content.decode()
        assert f"0 / {run.total}" in partial
        assert 'hx-trigger="every 1s"' in partial  # keeps polling until the run is done

    def test_activating_an_active_version_says_why(self, client, manager, marketer):
        draft = definition_create(stage="mql", name="Spring", rules=RULES, actor=marketer)
        client.force_login(manager)
        client.post(reverse("leads:definition_activate", args=[draft.pk]))
        response = client.post(reverse("leads:definition_activate", args=[draft.pk]), follow=True)
        assert "is already active" in response.content.decode()
