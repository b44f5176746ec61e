"""Who may do what in the SLA app, walked through the API and the pages alike: SLA clocks
(by the user's relation to the lead), agreements and business calendars (by role), and the
compliance report (by role). The same answer on both faces (tests/policy.py)."""

import pytest

from sla.forms import AgreementForm
from sla.models import BusinessCalendar, SLAAgreement, SLAClock
from tests.policy import expect
from tests.sla.conftest import ny
from tests.sla.factories import BusinessCalendarFactory

pytestmark = pytest.mark.django_db

# -- clocks -------------------------------------------------------------------------------------

# relation to the handed-off lead: (sees its clock, logs an attempt on it, has it in their queue)
CLOCKS = {
    "owner": (True, True, True),
    "manager": (True, True, False),
    "marketer": (True, False, False),
    "teammate": (True, False, False),
    "other team": (False, False, False),
}


@pytest.fixture
def clock_cases(
    rep, other_rep, outsider_rep, marketer, manager, office_calendar, agreement, hand_off
):
    lead = hand_off(rep, ny(2026, 1, 9, 16))
    clock = SLAClock.objects.get(lead=lead)
    users = {
        "owner": rep,
        "manager": manager,
        "marketer": marketer,
        "teammate": other_rep,
        "other team": outsider_rep,
    }
    return {relation: (user, clock) for relation, user in users.items()}


@pytest.mark.parametrize("relation", list(CLOCKS))
def test_the_clocks_api_follows_the_table(api_as, clock_cases, relation):
    user, clock = clock_cases[relation]
    sees, attempts, _queue = CLOCKS[relation]
    client = api_as(user)
    listed = client.get("/api/v1/sla/clocks/")
    assert listed.status_code == 200
    assert (clock.pk in [row["id"] for row in listed.json()["results"]]) == sees
    assert client.get(f"/api/v1/sla/clocks/?lead={clock.lead_id}").json()["count"] == int(sees)
    expect(client.get(f"/api/v1/sla/clocks/{clock.pk}/"), sees, sees)
    logged = client.post(
        f"/api/v1/leads/{clock.lead_id}/attempts/",
        {"channel": "call", "outcome": "no_answer"},
        format="json",
    )
    expect(logged, attempts, sees)
    assert clock.lead.attempts.exists() == attempts


@pytest.mark.parametrize("relation", list(CLOCKS))
def test_the_clock_pages_follow_the_table(client, clock_cases, relation):
    user, clock = clock_cases[relation]
    sees, attempts, queue = CLOCKS[relation]
    client.force_login(user)
    page = client.get("/sla/")
    assert page.status_code == 200
    assert (f'id="clock-{clock.pk}"' in page.content.decode()) == queue
    url = f"/sla/clocks/{clock.pk}/attempt/"
    expect(client.post(url, {"channel": "call", "outcome": "no_answer"}), attempts, sees)
    in_place = client.post(
        url, {"channel": "email", "outcome": "no_answer"}, HTTP_HX_REQUEST="true"
    )
    expect(in_place, attempts, sees, ok=(200,))
    assert clock.lead.attempts.count() == (2 if attempts else 0)


# -- agreements and calendars -------------------------------------------------------------------

# role: (reads, creates, edits, deletes); deleting is an API action (no page deletes them)
AGREEMENTS = CALENDARS = {
    "rep": (True, False, False, False),
    "marketer": (True, False, False, False),
    "manager": (True, True, True, True),
    "admin": (True, True, True, True),
}

AGREEMENT = {
    "name": "Draft SLA",
    "status": "draft",
    "effective_from": "2026-01-01",
    "goals": "75 SQLs per product per month.",
    "first_touch_hours": "4",
    "max_attempts": 4,
    "attempt_window_days": 16,
    "warning_share": "0.75",
}
CALENDAR = {
    "name": "Lisbon office",
    "time_zone": "Europe/Lisbon",
    "hours": {str(day): [["09:00", "17:00"]] for day in range(5)},
    "holiday_country": "PT",
}


@pytest.fixture
def people(rep, marketer, manager, admin_user):
    return {"rep": rep, "marketer": marketer, "manager": manager, "admin": admin_user}


@pytest.mark.parametrize("role", list(AGREEMENTS))
def test_the_agreements_api_follows_the_table(api_as, people, agreement, role):
    reads, creates, edits, deletes = AGREEMENTS[role]
    client = api_as(people[role])
    url = f"/api/v1/sla/agreements/{agreement.pk}/"
    expect(client.get("/api/v1/sla/agreements/"), reads)
    expect(client.get(url), reads)
    expect(client.post("/api/v1/sla/agreements/", AGREEMENT, format="json"), creates)
    assert SLAAgreement.objects.filter(name="Draft SLA").exists() == creates
    expect(client.patch(url, {"goals": "Grow together."}, format="json"), edits)
    agreement.refresh_from_db()
    assert (agreement.goals == "Grow together.") == edits
    expect(client.delete(url), deletes)
    assert SLAAgreement.objects.filter(pk=agreement.pk).exists() != deletes


def _agreement_form_data(agreement, **changes) -> dict:
    data = {k: v for k, v in AgreementForm(instance=agreement).initial.items() if v is not None}
    return {**data, "products": [], "personas": [], "commitment_persona": "", **changes}


@pytest.mark.parametrize("role", list(AGREEMENTS))
def test_the_agreement_pages_follow_the_table(client, people, agreement, role):
    reads, creates, edits, _deletes = AGREEMENTS[role]
    client.force_login(people[role])
    expect(client.get("/sla/agreements/"), reads)
    expect(client.get(f"/sla/agreements/{agreement.pk}/"), reads)
    expect(client.get("/sla/agreements/new/"), creates)
    created = client.post(
        "/sla/agreements/new/", _agreement_form_data(agreement, name="Draft SLA", status="draft")
    )
    expect(created, creates, ok=(302,))
    assert SLAAgreement.objects.filter(name="Draft SLA").exists() == creates
    edit = f"/sla/agreements/{agreement.pk}/edit/"
    expect(client.get(edit), edits)
    changed = _agreement_form_data(agreement, goals="Grow together.")
    expect(client.post(edit, changed), edits, ok=(302,))
    agreement.refresh_from_db()
    assert (agreement.goals == "Grow together.") == edits


@pytest.mark.parametrize("role", list(CALENDARS))
def test_the_calendars_api_follows_the_table(api_as, people, office_calendar, role):
    reads, creates, edits, deletes = CALENDARS[role]
    spare = BusinessCalendarFactory(name="Spare", is_default=False)
    client = api_as(people[role])
    expect(client.get("/api/v1/sla/calendars/"), reads)
    expect(client.get(f"/api/v1/sla/calendars/{office_calendar.pk}/"), reads)
    expect(client.post("/api/v1/sla/calendars/", CALENDAR, format="json"), creates)
    assert BusinessCalendar.objects.filter(name="Lisbon office").exists() == creates
    url = f"/api/v1/sla/calendars/{office_calendar.pk}/"
    expect(client.patch(url, {"name": "NYC"}, format="json"), edits)
    office_calendar.refresh_from_db()
    assert (office_calendar.name == "NYC") == edits
    expect(client.delete(f"/api/v1/sla/calendars/{spare.pk}/"), deletes)
    assert BusinessCalendar.objects.filter(pk=spare.pk).exists() != deletes


@pytest.mark.parametrize("role", list(CALENDARS))
def test_the_calendar_pages_follow_the_table(client, people, office_calendar, role):
    reads, creates, edits, _deletes = CALENDARS[role]
    client.force_login(people[role])
    listed = client.get("/sla/calendars/")
    expect(listed, reads)
    html = listed.content.decode()
    assert office_calendar.name in html
    assert ('href="/sla/calendars/new/"' in html) == creates
    assert (f'href="/sla/calendars/{office_calendar.pk}/edit/"' in html) == edits
    expect(client.get("/sla/calendars/new/"), creates)
    form = {"name": "Lisbon office", "time_zone": "Europe/Lisbon", "day_0": "09:00-17:00"}
    expect(client.post("/sla/calendars/new/", form), creates, ok=(302,))
    assert BusinessCalendar.objects.filter(name="Lisbon office").exists() == creates
    edit = f"/sla/calendars/{office_calendar.pk}/edit/"
    expect(client.get(edit), edits)
    changed = {**form, "name": "NYC", "is_default": "on"}
    expect(client.post(edit, changed), edits, ok=(302,))
    office_calendar.refresh_from_db()
    assert (office_calendar.name == "NYC") == edits


# -- compliance ---------------------------------------------------------------------------------

# role: (reads the report, reads the reps' and teams' figures in it, exports them as CSV,
#        exports marketing's commitments as CSV)
COMPLIANCE = {
    "rep": (False, False, False, False),
    "marketer": (True, False, False, True),
    "manager": (True, True, True, True),
    "admin": (True, True, True, True),
}
PERIOD = "start=2026-01-01&end=2026-01-31&group_by=owner"


@pytest.fixture
def handed_off(office_calendar, agreement, rep, hand_off):
    return hand_off(rep, ny(2026, 1, 9, 16))


@pytest.mark.parametrize("role", list(COMPLIANCE))
def test_the_compliance_api_follows_the_table(api_as, people, handed_off, role):
    reads, figures, _csv, _commitments_csv = COMPLIANCE[role]
    response = api_as(people[role]).get(f"/api/v1/sla/compliance/?{PERIOD}")
    expect(response, reads)
    if reads:
        assert bool(response.json()["rows"]) == figures
        assert bool(response.json()["weeks"]) == figures


@pytest.mark.parametrize("role", list(COMPLIANCE))
def test_the_compliance_pages_follow_the_table(client, people, handed_off, role):
    reads, figures, csv, commitments_csv = COMPLIANCE[role]
    client.force_login(people[role])
    start, end = "start=2026-01-01&end=2026-01-31", "group_by=owner"
    page = client.get(f"/sla/compliance/?{start}&{end}")
    expect(page, reads)
    if reads:
        assert bool(page.context["rows"]) == figures
    for table in ("groups", "weeks"):
        exported = client.get(f"/sla/compliance.csv?{PERIOD}&table={table}")
        expect(exported, csv)
        if csv:
            assert len(exported.content.decode().splitlines()) > 1
    expect(client.get(f"/sla/compliance.csv?{PERIOD}&table=commitments"), commitments_csv)
