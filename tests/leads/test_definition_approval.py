"""A marketer builds and submits a draft; a manager approves it or sends it back; both are
notified. The builder pages, the preview panel and the API actions, per role."""

import json

import pytest
from django.urls import reverse

from accounts.models import Notification
from core.errors import DomainError
from leads.models import QualificationDefinition
from leads.services import (
    definition_activate,
    definition_create,
    definition_send_back,
    definition_submit,
    definition_update,
)
from tests.leads.factories import EventFactory, LeadFactory
from tests.leads.helpers import MQL_RULES

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script>'


def _draft(actor, **changes):
    return definition_create(
        stage="mql", name=changes.pop("name", "Spring"), rules={**MQL_RULES, **changes}, actor=actor
    )


class TestWorkflow:
    def test_submit_notifies_the_managers_and_locks_the_draft(self, marketer, manager):
        draft = _draft(marketer)
        definition_submit(definition=draft, actor=marketer)
        assert (draft.status, draft.submitted_by, draft.submitted_at is not None) == (
            "submitted",
            marketer,
            True,
        )
        note = Notification.objects.get(user=manager)
        assert note.kind == "definition_submitted"
        assert str(draft.version) in note.title
        assert note.url == reverse("leads:definition_detail", args=[draft.pk])
        assert note.occurred_at == draft.submitted_at
        assert note.linked_items() == [
            {"label": str(draft), "url": reverse("leads:definition_detail", args=[draft.pk])}
        ]
        assert not Notification.objects.filter(user=marketer).exists()
        with pytest.raises(DomainError, match="cannot be edited"):
            definition_update(definition=draft, name="changed meanwhile")
        with pytest.raises(DomainError, match="only a draft is submitted"):
            definition_submit(definition=draft, actor=marketer)

    def test_send_back_needs_a_comment_returns_to_draft_and_tells_the_author(
        self, marketer, manager
    ):
        draft = _draft(marketer)
        with pytest.raises(DomainError, match="only a submitted version"):
            definition_send_back(definition=draft, actor=manager, comment="Too loose")
        definition_submit(definition=draft, actor=marketer)
        for empty in ("", "   ", None):
            with pytest.raises(DomainError, match="Say what should change"):
                definition_send_back(definition=draft, actor=manager, comment=empty)
        with pytest.raises(DomainError, match="under 2000"):
            definition_send_back(definition=draft, actor=manager, comment="x" * 2001)
        definition_send_back(definition=draft, actor=manager, comment=" Raise the threshold ")
        assert (draft.status, draft.review_comment, draft.reviewed_by) == (
            "draft",
            "Raise the threshold",
            manager,
        )
        note = Notification.objects.get(user=marketer)
        assert (note.kind, note.body) == ("definition_sent_back", "Raise the threshold")
        # Editable again, and submitted again.
        definition_update(definition=draft, rules={**MQL_RULES, "threshold": 60})
        definition_submit(definition=draft, actor=marketer)
        draft.refresh_from_db()
        assert draft.status == "submitted"

    def test_approval_activates_and_tells_the_author(self, marketer, manager):
        draft = _draft(marketer)
        definition_submit(definition=draft, actor=marketer)
        definition_activate(definition=draft, actor=manager)
        draft.refresh_from_db()
        assert (draft.status, draft.reviewed_by, draft.activated_by) == (
            "active",
            manager,
            manager,
        )
        assert Notification.objects.get(user=marketer).kind == "definition_approved"


class TestPages:
    def test_a_marketer_builds_a_draft_on_the_builder_page(self, client, marketer):
        client.force_login(marketer)
        page = client.get(reverse("leads:definition_new")).content.decode()
        assert 'data-testid="definition-builder"' in page
        assert 'id="builder-vocabulary"' in page
        response = client.post(
            reverse("leads:definition_new"),
            {"stage": "mql", "name": "Built", "description": "", "rules": json.dumps(MQL_RULES)},
        )
        draft = QualificationDefinition.objects.get(name="Built")
        assert response.status_code == 302
        assert response["Location"] == reverse("leads:definition_detail", args=[draft.pk])

    def test_a_copy_starts_from_the_version(self, client, marketer):
        source = _draft(marketer, threshold=77)
        client.force_login(marketer)
        page = client.get(reverse("leads:definition_new") + f"?from={source.pk}").content
        assert b"Copy of Spring" in page and b"77" in page
        for odd in ("?from=abc", "?from=99999999", "?from=" + "9" * 40, "?stage=<x>"):
            assert client.get(reverse("leads:definition_new") + odd).status_code == 200

    def test_a_refused_draft_keeps_what_was_typed_with_the_message_on_the_field(
        self, client, marketer
    ):
        client.force_login(marketer)
        response = client.post(
            reverse("leads:definition_new"),
            {"stage": "mql", "name": HOSTILE, "rules": '{"threshold": -1, "fit": [}'},
        )
        html = response.content.decode()
        assert response.status_code == 400
        assert "This is not valid JSON" in html
        assert HOSTILE not in html and "&lt;script&gt;" in html
        assert not QualificationDefinition.objects.exists()

    def test_editing_a_draft_and_the_lock_once_submitted(self, client, marketer):
        draft = _draft(marketer)
        client.force_login(marketer)
        url = reverse("leads:definition_detail", args=[draft.pk])
        assert 'data-testid="definition-form"' in client.get(url).content.decode()
        rules = json.dumps({**MQL_RULES, "threshold": 55})
        response = client.post(url, {"name": "Tuned", "description": "d", "rules": rules})
        assert response.status_code == 302
        draft.refresh_from_db()
        assert (draft.name, draft.rules["threshold"]) == ("Tuned", 55)
        client.post(reverse("leads:definition_submit", args=[draft.pk]))
        draft.refresh_from_db()
        assert draft.status == "submitted"
        page = client.get(url).content.decode()
        assert 'data-testid="definition-form"' not in page
        assert "Waiting for a manager" in page
        response = client.post(url, {"name": "Sneaky", "rules": rules})
        assert response.status_code == 400
        assert "cannot be edited" in response.content.decode()
        draft.refresh_from_db()
        assert draft.name == "Tuned"

    def test_the_manager_sees_pending_drafts_and_sends_one_back(self, client, marketer, manager):
        draft = _draft(marketer)
        definition_submit(definition=draft, actor=marketer)
        client.force_login(manager)
        listing = client.get(reverse("leads:definitions")).content.decode()
        assert 'data-testid="pending-approval"' in listing
        assert reverse("leads:definition_detail", args=[draft.pk]) in listing
        page = client.get(reverse("leads:definition_detail", args=[draft.pk])).content.decode()
        assert "Approve and activate" in page and "Send back" in page
        send_back = reverse("leads:definition_send_back", args=[draft.pk])
        refused = client.post(send_back, {"comment": ""})
        assert refused.status_code == 400
        assert "Say what should change" in refused.content.decode()
        client.post(send_back, {"comment": HOSTILE})
        draft.refresh_from_db()
        assert draft.status == "draft"
        client.force_login(marketer)
        page = client.get(reverse("leads:definition_detail", args=[draft.pk])).content.decode()
        assert 'data-testid="review-comment"' in page
        assert HOSTILE not in page and "&lt;script&gt;" in page

    def test_roles(self, client, rep, marketer):
        draft = _draft(marketer)
        client.force_login(rep)
        assert client.get(reverse("leads:definition_new")).status_code == 403
        page = client.get(reverse("leads:definition_detail", args=[draft.pk])).content.decode()
        assert 'data-testid="definition-form"' not in page and "Submit for approval" not in page
        for name in ("definition_submit", "definition_send_back", "definition_activate"):
            assert client.post(reverse(f"leads:{name}", args=[draft.pk])).status_code == 403
        assert client.post(reverse("leads:definition_detail", args=[draft.pk])).status_code == 403
        assert client.post(reverse("leads:definition_preview"), {}).status_code == 403
        client.force_login(marketer)
        url = reverse("leads:definition_send_back", args=[draft.pk])
        assert client.post(url, {"comment": "no"}).status_code == 403
        assert client.get(reverse("leads:definition_detail", args=[999999])).status_code == 404


class TestPreviewPanel:
    def test_the_panel_counts_the_open_leads_and_lists_the_best(self, client, marketer, manager):
        director = LeadFactory(title="Director of Sales", first_name="Ada", last_name=HOSTILE)
        LeadFactory(title="Analyst")
        LeadFactory(title="Director", stage="customer")
        EventFactory(lead=director, type="webinar_attended")
        client.force_login(marketer)
        rules = {
            "threshold": 20,
            "fit": [
                {"points": 20, "attribute": "title", "operator": "contains", "value": "director"}
            ],
        }
        response = client.post(
            reverse("leads:definition_preview"), {"stage": "mql", "rules": json.dumps(rules)}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert 'data-testid="preview-qualified">1<' in html
        assert "of 2 open leads" in html and "(50%)" in html
        assert reverse("leads:detail", args=[director.pk]) in html
        assert HOSTILE not in html
        assert "No MQL version is active yet" in html
        assert 'id="preview-chart-data"' in html and 'data-testid="preview-bands"' in html

    def test_incomplete_rules_say_what_is_missing(self, client, marketer):
        client.force_login(marketer)
        for rules in ("", "{", "[]", '{"threshold": "many"}', json.dumps({"threshold": 1e300})):
            response = client.post(
                reverse("leads:definition_preview"), {"stage": "mql", "rules": rules}
            )
            assert response.status_code == 400, rules
            assert 'data-testid="preview-errors"' in response.content.decode()
        response = client.post(reverse("leads:definition_preview"), {"stage": "opportunity"})
        assert response.status_code == 400


class TestApi:
    def test_submit_send_back_and_preview(self, api_as, marketer, manager):
        draft = _draft(marketer)
        LeadFactory(title="Director")
        as_marketer, as_manager = api_as(marketer), api_as(manager)
        response = as_marketer.post(f"/api/v1/definitions/{draft.pk}/submit/")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["submitted_by"]) == (
            "submitted",
            marketer.pk,
        )
        assert as_marketer.post(f"/api/v1/definitions/{draft.pk}/submit/").status_code == 400
        url = f"/api/v1/definitions/{draft.pk}/send-back/"
        assert as_marketer.post(url, {"comment": "x"}, format="json").status_code == 403
        assert as_manager.post(url, {}, format="json").status_code == 400
        assert as_manager.post(url, [1, 2], format="json").status_code == 400
        response = as_manager.post(url, {"comment": "Tighter please"}, format="json")
        assert (response.status_code, response.json()["review_comment"]) == (200, "Tighter please")

        preview = as_marketer.post(
            "/api/v1/definitions/preview/", {"stage": "mql", "rules": MQL_RULES}, format="json"
        )
        assert preview.status_code == 200
        body = preview.json()
        assert body["open_leads"] == 1 and body["active"] is None
        assert sum(band["draft"] for band in body["bands"]) == 1
        for bad in (
            {"stage": "mql", "rules": {"threshold": "x"}},
            {"stage": "mql", "rules": {**MQL_RULES, "stage": "sql"}},
            {"stage": "won", "rules": MQL_RULES},
            {"stage": "mql"},
            [],
        ):
            response = as_marketer.post("/api/v1/definitions/preview/", bad, format="json")
            assert response.status_code == 400, bad

    def test_a_rep_neither_submits_nor_previews(self, api_as, rep, marketer):
        draft = _draft(marketer)
        client = api_as(rep)
        assert client.post(f"/api/v1/definitions/{draft.pk}/submit/").status_code == 403
        response = client.post(
            "/api/v1/definitions/preview/", {"stage": "mql", "rules": MQL_RULES}, format="json"
        )
        assert response.status_code == 403
