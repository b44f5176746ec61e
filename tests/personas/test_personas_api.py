"""The personas API: marketing writes personas, sales records interviews, everyone reads."""

import pytest

from tests.personas.factories import InterviewFactory, PersonaFactory

pytestmark = pytest.mark.django_db

PERSONA = {
    "name": "Ops Olivia",
    "summary": "Runs operations at a mid-size logistics firm.",
    "role_title": "Head of Operations",
    "status": "draft",
    "journey": [
        {
            "stage": "awareness",
            "questions": "Why are we late?",
            "content_offers": "Guide",
            "channels": "LinkedIn",
        },
    ],
}


def test_marketing_creates_a_persona_and_becomes_a_contributor(api_as, marketer, rep):
    response = api_as(marketer).post("/api/v1/personas/", PERSONA, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [c["username"] for c in body["contributors"]] == ["marketer"]
    assert body["contributors"][0]["team_function"] == "marketing"
    assert body["journey"][0]["questions"] == "Why are we late?"
    assert body["interview_count"] == 0 and body["enough_interviews"] is False


def test_sales_cannot_edit_a_persona_but_records_interviews(api_as, rep):
    persona = PersonaFactory()
    client = api_as(rep)
    assert client.post("/api/v1/personas/", PERSONA, format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/personas/{persona.pk}/", {"summary": "x"}, format="json").status_code
        == 403
    )
    interview = {
        "interviewed_on": "2026-02-03",
        "interviewee": "Dana, COO at Freightly",
        "trigger": "Missed a big delivery.",
        "expectations_met": "Mostly",
        "information_sources": "Peers",
        "demographics": "COO, 200 staff",
        "notes": "",
    }
    response = client.post(f"/api/v1/personas/{persona.pk}/interviews/", interview, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["interviewer"] == rep.pk
    detail = client.get(f"/api/v1/personas/{persona.pk}/").json()
    assert detail["interview_count"] == 1
    assert [c["team_function"] for c in detail["contributors"]] == ["sales"]
    listing = client.get(f"/api/v1/personas/{persona.pk}/interviews/").json()
    assert listing["count"] == 1


def test_bad_input_is_a_400_with_field_messages(api_as, marketer):
    persona = PersonaFactory()
    client = api_as(marketer)
    response = client.post("/api/v1/personas/", {**PERSONA, "status": "famous"}, format="json")
    assert "status" in response.json()["errors"]
    response = client.post(
        f"/api/v1/personas/{persona.pk}/interviews/", {"interviewed_on": "yesterday"}, format="json"
    )
    assert response.status_code == 400
    assert {"interviewed_on", "interviewee"} <= set(response.json()["errors"])
    duplicate = {**PERSONA, "name": "Dup", "journey": [{"stage": "decision"}] * 2}
    assert client.post("/api/v1/personas/", duplicate, format="json").status_code == 400


def test_interviews_can_be_listed_by_persona(api_as, rep):
    persona = PersonaFactory()
    InterviewFactory.create_batch(3, persona=persona)
    InterviewFactory()
    response = api_as(rep).get("/api/v1/interviews/", {"persona": persona.pk})
    assert response.json()["count"] == 3


def test_persona_list_query_count_is_pinned(api_as, rep, django_assert_num_queries):
    for index in range(5):
        InterviewFactory(persona=PersonaFactory(name=f"P{index}"))
    client = api_as(rep)
    # token, count, personas, contributors (with their teams), journeys
    with django_assert_num_queries(5):
        response = client.get("/api/v1/personas/")
    assert response.json()["count"] == 5


def test_an_interview_is_changed_by_its_interviewer_a_contributor_or_a_manager(
    api_as, rep, other_rep, marketer, manager
):
    persona = PersonaFactory()
    persona.contributors.add(marketer)
    interview = InterviewFactory(persona=persona, interviewer=rep)
    url = f"/api/v1/interviews/{interview.pk}/"
    assert api_as(other_rep).patch(url, {"notes": "mine now"}, format="json").status_code == 403
    assert api_as(other_rep).delete(url).status_code == 403
    assert api_as(other_rep).get(url).status_code == 200  # everyone reads
    for user in (rep, marketer, manager):
        response = api_as(user).patch(url, {"notes": f"by {user}"}, format="json")
        assert response.status_code == 200, (user, response.json())
