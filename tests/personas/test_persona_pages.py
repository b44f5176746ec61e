"""Interviews are edited and deleted (after a confirmation) by who recorded them, the
persona's contributors whatever their team, or a manager; the journey map is edited by
marketing, managers and the persona's contributors."""

import pytest
from django.urls import reverse

from personas.models import Interview, JourneyStage
from tests.personas.factories import InterviewFactory, PersonaFactory

pytestmark = pytest.mark.django_db
HOSTILE = "<script>alert(1)</script>"


def _urls(interview):
    args = [interview.persona_id, interview.pk]
    return (
        reverse("personas:interview_edit", args=args),
        reverse("personas:interview_delete", args=args),
    )


def test_a_contributing_rep_edits_and_deletes_an_interview_after_confirming(client, rep, other_rep):
    persona = PersonaFactory(name="Ops lead")
    persona.contributors.add(rep)
    interview = InterviewFactory(persona=persona, interviewer=other_rep, interviewee="Acme")
    edit, delete = _urls(interview)
    client.force_login(rep)
    detail = client.get(persona.get_absolute_url()).content.decode()
    assert edit in detail and delete in detail

    page = client.get(edit)
    assert page.status_code == 200 and "Edit the interview with Acme" in page.content.decode()
    data = {key: value for key, value in page.context["form"].initial.items() if value is not None}
    response = client.post(edit, {**data, "interviewee": HOSTILE, "trigger": "A merger"})
    assert response.status_code == 302
    interview.refresh_from_db()
    assert (interview.interviewee, interview.trigger) == (HOSTILE, "A merger")
    detail = client.get(persona.get_absolute_url()).content.decode()
    assert HOSTILE not in detail and "&lt;script&gt;" in detail

    confirm = client.get(delete)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Interview.objects.filter(pk=interview.pk).exists()  # a GET deletes nothing
    assert client.post(delete).status_code == 302
    assert not Interview.objects.filter(pk=interview.pk).exists()


def test_others_read_but_neither_edit_nor_delete(client, rep, other_rep, marketer, manager):
    persona = PersonaFactory(name="Finance lead")
    interview = InterviewFactory(persona=persona, interviewer=other_rep)
    edit, delete = _urls(interview)
    for user in (rep, marketer):
        client.force_login(user)
        assert edit not in client.get(persona.get_absolute_url()).content.decode()
        assert client.get(edit).status_code == 403
        assert client.post(delete).status_code == 403
    assert Interview.objects.filter(pk=interview.pk).exists()
    client.force_login(manager)
    assert client.get(edit).status_code == 200
    other = PersonaFactory(name="Another")
    wrong = reverse("personas:interview_edit", args=[other.pk, interview.pk])
    assert client.get(wrong).status_code == 404


def test_the_journey_map_is_edited_by_contributors_whatever_their_team(client, rep, other_rep):
    persona = PersonaFactory(name="IT lead")
    persona.contributors.add(rep)
    url = reverse("personas:journey", args=[persona.pk])
    client.force_login(other_rep)
    assert client.get(url).status_code == 403
    client.force_login(rep)
    assert url in client.get(persona.get_absolute_url()).content.decode()
    response = client.post(url, {"awareness__questions": "Why do we miss targets?"})
    assert response.status_code == 302
    stage = JourneyStage.objects.get(persona=persona, stage="awareness")
    assert stage.questions == "Why do we miss targets?"
