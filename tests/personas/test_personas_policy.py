"""Who may do what to personas, their interviews and journey maps (personas/permissions.py),
walked through the API and the pages alike (tests/policy.py)."""

import pytest

from personas.models import Interview, JourneyStage, Persona
from tests.personas.factories import InterviewFactory, PersonaFactory
from tests.policy import expect

pytestmark = pytest.mark.django_db

# role: (reads, creates, edits, deletes); deleting a persona is an API action (no page does)
PERSONAS = {
    "rep": (True, False, False, False),
    "marketer": (True, True, True, False),
    "manager": (True, True, True, True),
}


@pytest.fixture
def people(rep, other_rep, marketer, manager):
    return {"rep": rep, "other rep": other_rep, "marketer": marketer, "manager": manager}


@pytest.mark.parametrize("role", list(PERSONAS))
def test_the_personas_api_follows_the_table(api_as, people, role):
    reads, creates, edits, deletes = PERSONAS[role]
    persona = PersonaFactory(name="Ops lead")
    client = api_as(people[role])
    url = f"/api/v1/personas/{persona.pk}/"
    expect(client.get("/api/v1/personas/"), reads)
    expect(client.get(url), reads)
    created = client.post("/api/v1/personas/", {"name": "CFO", "summary": "Signs."}, format="json")
    expect(created, creates)
    assert Persona.objects.filter(name="CFO").exists() == creates
    expect(client.patch(url, {"summary": "Runs the floor."}, format="json"), edits)
    persona.refresh_from_db()
    assert (persona.summary == "Runs the floor.") == edits
    expect(client.delete(url), deletes)
    assert Persona.objects.filter(pk=persona.pk).exists() != deletes


@pytest.mark.parametrize("role", list(PERSONAS))
def test_the_persona_pages_follow_the_table(client, people, role):
    reads, creates, edits, _deletes = PERSONAS[role]
    persona = PersonaFactory(name="Ops lead")
    client.force_login(people[role])
    expect(client.get("/personas/"), reads)
    page = client.get(f"/personas/{persona.pk}/")
    expect(page, reads)
    assert (f'href="/personas/{persona.pk}/edit/"' in page.content.decode()) == edits
    expect(client.get("/personas/new/"), creates)
    form = {"name": "CFO", "summary": "Signs.", "status": "draft"}
    expect(client.post("/personas/new/", form), creates, ok=(302,))
    assert Persona.objects.filter(name="CFO").exists() == creates
    edit = f"/personas/{persona.pk}/edit/"
    expect(client.get(edit), edits)
    changed = {"name": "Ops lead", "summary": "Runs the floor.", "status": "active"}
    expect(client.post(edit, changed), edits, ok=(302,))
    persona.refresh_from_db()
    assert (persona.summary == "Runs the floor.") == edits


# relation to an interview (recorded by `rep` for a persona `marketer` contributes to):
# (reads it, changes it, deletes it, records a new one)
INTERVIEWS = {
    "who recorded it": (True, True, True, True),
    "a contributor of the persona": (True, True, True, True),
    "a manager": (True, True, True, True),
    "a rep who is neither": (True, False, False, True),
}


@pytest.fixture
def interview_cases(rep, other_rep, marketer, manager):
    persona = PersonaFactory(name="Ops lead")
    persona.contributors.add(marketer)
    interview = InterviewFactory(persona=persona, interviewer=rep, interviewee="Acme COO")
    users = {
        "who recorded it": rep,
        "a contributor of the persona": marketer,
        "a manager": manager,
        "a rep who is neither": other_rep,
    }
    return {relation: (user, interview) for relation, user in users.items()}


@pytest.mark.parametrize("relation", list(INTERVIEWS))
def test_the_interviews_api_follows_the_table(api_as, interview_cases, relation):
    user, interview = interview_cases[relation]
    reads, changes, deletes, records = INTERVIEWS[relation]
    client = api_as(user)
    persona_url = f"/api/v1/personas/{interview.persona_id}/interviews/"
    url = f"/api/v1/interviews/{interview.pk}/"
    listed = client.get(persona_url)
    expect(listed, reads)
    assert [row["id"] for row in listed.json()["results"]] == [interview.pk]
    expect(client.get(url), reads)
    expect(client.patch(url, {"notes": "Budget in Q3."}, format="json"), changes)
    interview.refresh_from_db()
    assert (interview.notes == "Budget in Q3.") == changes
    expect(client.delete(url), deletes)
    assert Interview.objects.filter(pk=interview.pk).exists() != deletes
    recorded = client.post(
        persona_url, {"interviewed_on": "2026-02-02", "interviewee": "Beta CFO"}, format="json"
    )
    expect(recorded, records)
    assert Interview.objects.filter(interviewee="Beta CFO").exists() == records


@pytest.mark.parametrize("relation", list(INTERVIEWS))
def test_the_interview_pages_follow_the_table(client, interview_cases, relation):
    user, interview = interview_cases[relation]
    reads, changes, deletes, records = INTERVIEWS[relation]
    client.force_login(user)
    base = f"/personas/{interview.persona_id}"
    edit = f"{base}/interviews/{interview.pk}/edit/"
    delete = f"{base}/interviews/{interview.pk}/delete/"
    page = client.get(f"{base}/")
    expect(page, reads)
    html = page.content.decode()
    assert "Acme COO" in html
    assert (edit in html) == changes
    assert (delete in html) == deletes
    expect(client.get(edit), changes)
    form = {"interviewed_on": "2026-01-15", "interviewee": "Acme COO", "notes": "Budget in Q3."}
    expect(client.post(edit, {**form, "interviewer": interview.interviewer_id}), changes)
    interview.refresh_from_db()
    assert (interview.notes == "Budget in Q3.") == changes
    expect(client.get(delete), deletes)
    expect(client.post(delete), deletes, ok=(302,))
    assert Interview.objects.filter(pk=interview.pk).exists() != deletes
    new = f"{base}/interviews/new/"
    expect(client.get(new), records)
    recorded = {"interviewed_on": "2026-02-02", "interviewee": "Beta CFO", "interviewer": user.pk}
    expect(client.post(new, recorded), records, ok=(302,))
    assert Interview.objects.filter(interviewee="Beta CFO").exists() == records


# relation to a persona: (edits its journey map, edits the persona itself). The map is
# marketing's, a manager's, and the persona's contributors' whatever their team.
JOURNEY = {
    "marketer": (True, True),
    "manager": (True, True),
    "a contributing rep": (True, False),
    "a rep who does not contribute": (False, False),
}


@pytest.fixture
def journey_cases(rep, other_rep, marketer, manager):
    persona = PersonaFactory(name="IT lead")
    persona.contributors.add(rep)
    users = {
        "marketer": marketer,
        "manager": manager,
        "a contributing rep": rep,
        "a rep who does not contribute": other_rep,
    }
    return {relation: (user, persona) for relation, user in users.items()}


def _journey(persona) -> str:
    stage = JourneyStage.objects.filter(persona=persona, stage="awareness").first()
    return stage.questions if stage else ""


@pytest.mark.parametrize("relation", list(JOURNEY))
def test_the_journey_api_follows_the_table(api_as, journey_cases, relation):
    user, persona = journey_cases[relation]
    edits_journey, edits_persona = JOURNEY[relation]
    client = api_as(user)
    url = f"/api/v1/personas/{persona.pk}/"
    # The map and the persona's own fields at once: both must be the user's to change.
    both = {"journey": [{"stage": "awareness", "questions": "Why?"}], "summary": "Rewritten."}
    expect(client.patch(url, both, format="json"), edits_journey and edits_persona)
    persona.refresh_from_db()
    assert (persona.summary == "Rewritten.") == edits_persona
    journey = {"journey": [{"stage": "awareness", "questions": "Why do we miss targets?"}]}
    expect(client.patch(url, journey, format="json"), edits_journey)
    assert (_journey(persona) == "Why do we miss targets?") == edits_journey


@pytest.mark.parametrize("relation", list(JOURNEY))
def test_the_journey_page_follows_the_table(client, journey_cases, relation):
    user, persona = journey_cases[relation]
    edits, _edits_persona = JOURNEY[relation]
    client.force_login(user)
    url = f"/personas/{persona.pk}/journey/"
    assert (url in client.get(f"/personas/{persona.pk}/").content.decode()) == edits
    expect(client.get(url), edits)
    expect(client.post(url, {"awareness__questions": "Why do we miss targets?"}), edits, ok=(302,))
    assert (_journey(persona) == "Why do we miss targets?") == edits
