"""The audit log: database triggers keep who changed agreements, calendars, definitions,
routing, ownership, roles and webhooks, with the values before and after; managers read it."""

import pytest
from django.contrib.auth.models import Group

from accounts import audit
from leads.models import Lead
from tests.leads.factories import LeadFactory
from tests.sla.factories import SLAAgreementFactory

pytestmark = pytest.mark.django_db
HOSTILE = "<script>alert(1)</script>"


def _entries(**kwargs):
    return audit.audit_entries(**kwargs)[0]


def test_an_agreement_changed_through_the_page_names_who_and_both_sides(client, manager):
    from sla.forms import AgreementForm

    agreement = SLAAgreementFactory(name="Team SLA", max_attempts=4)
    data = {
        key: value
        for key, value in AgreementForm(instance=agreement).initial.items()
        if value is not None and not isinstance(value, list)
    }
    client.force_login(manager)
    response = client.post(
        f"/sla/agreements/{agreement.pk}/edit/", {**data, "max_attempts": 6, "name": HOSTILE}
    )
    assert response.status_code == 302
    changed = [entry for entry in _entries(subject="slaagreement") if entry.action == "changed"]
    assert changed, _entries(subject="slaagreement")
    entry = changed[0]
    assert entry.actor == manager.username
    assert entry.path == f"/sla/agreements/{agreement.pk}/edit/"
    assert ("max_attempts", 4, 6) in entry.changes
    page = client.get("/accounts/audit/").content.decode()
    assert "max_attempts" in page and HOSTILE not in page and "&lt;script&gt;" in page


def test_an_owner_change_is_kept_whatever_wrote_it_and_other_writes_are_not(rep, other_rep):
    lead = LeadFactory(owner=rep)
    Lead.objects.filter(pk=lead.pk).update(company="Renamed")  # not an owner change
    assert not _entries(subject="leadowner")
    Lead.objects.filter(pk=lead.pk).update(owner=other_rep)  # a bulk write, no signal
    (entry,) = _entries(subject="leadowner")
    assert entry.action == "owner changed"
    assert entry.changes == [("owner", rep.username, other_rep.username)]
    assert entry.actor == ""  # no request: the system


def test_roles_given_and_taken_away(rep):
    managers = Group.objects.get(name="Manager")
    rep.groups.add(managers)
    rep.groups.remove(managers)
    actions = [(entry.action, entry.label) for entry in _entries(subject="userrole")]
    assert ("role taken away", f"Manager for {rep.username}") in actions
    assert ("role given", f"Manager for {rep.username}") in actions


def test_the_webhook_secret_never_enters_the_log(manager):
    from webhooks.models import WebhookSubscription

    subscription = WebhookSubscription.objects.create(
        name="CRM",
        url="https://hooks.example.com/in",
        secret="s3cr3t-value",
        event_types=["lead.created"],
    )
    subscription.name = "CRM sync"
    subscription.save()
    entries = _entries(subject="webhooksubscription")
    assert entries and all(
        "secret" not in name and "s3cr3t" not in str(value)
        for entry in entries
        for name, *values in entry.changes
        for value in values
    )


def test_managers_only_and_bad_parameters_are_400s(client, api_as, manager, rep, marketer):
    for user in (rep, marketer):
        client.force_login(user)
        assert client.get("/accounts/audit/").status_code == 403
        assert api_as(user).get("/api/v1/audit/").status_code == 403
    client.force_login(manager)
    for query in ("", "?subject=nope", "?page=abc", "?page=" + "9" * 30):
        assert client.get(f"/accounts/audit/{query}").status_code == 200
    api = api_as(manager)
    assert api.get("/api/v1/audit/").status_code == 200
    for query in ("subject=nope", "page_size=0", "page_size=999", "page=0", "page=1e3"):
        assert api.get(f"/api/v1/audit/?{query}").status_code == 400, query
    SLAAgreementFactory(name="One")
    SLAAgreementFactory(name="Two")
    body = api.get("/api/v1/audit/?page_size=1&subject=slaagreement").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2 and len(body["results"]) == 1 and body["previous"] is None
    second = api.get(body["next"]).json()
    assert second["results"][0]["label"] != body["results"][0]["label"]
    assert second["next"] is None and second["previous"]
