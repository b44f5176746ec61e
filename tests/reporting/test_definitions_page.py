"""The Definitions page: every role reads it, every report links to it, and the API schema's
description says the same, both written from `reporting.definitions`."""

import pytest
import yaml
from django.utils.html import escape

from reporting import definitions
from reporting.definitions import Entry, Section
from reporting.personas import WINDOW_DAYS
from tests.personas.factories import PersonaFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["rep", "marketer", "manager"])
def test_everyone_reads_the_definitions(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get("/reports/definitions/")
    assert response.status_code == 200
    body = response.content.decode()
    for term in ("A day", "Flow mode", "Velocity", "one sample per lead", "Hand-off", "hand-offs"):
        assert term in body


def test_the_page_shows_every_definition_of_the_structure(client, rep, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    client.force_login(rep)
    body = client.get("/reports/definitions/").content.decode()
    assert "<code>America/Sao_Paulo</code>" in body  # the zone as configured now
    for section in definitions.SECTIONS:
        assert f'aria-labelledby="{section.id}"' in body
        assert f'id="{section.id}">{escape(section.title)}</h2>' in body
        for entry in section.entries:
            assert f"<dt>{escape(entry.term)}</dt>" in body
    # Every text whole, its markup as HTML.
    for entry in (e for s in definitions.SECTIONS for e in s.entries):
        text = definitions.filled(entry.text, definitions.placeholder_values())
        assert f"<dd>{definitions.markup_html(text)}</dd>" in body
    assert "{" not in body.split('<div class="row g-4">')[1].split("</main>")[0]


def test_the_schema_description_holds_every_term_and_text(client, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    response = client.get("/api/schema/")
    assert response.status_code == 200
    description = yaml.safe_load(response.content)["info"]["description"]
    assert description.startswith(settings.SPECTACULAR_SETTINGS["DESCRIPTION"])
    assert "## Definitions" in description
    assert "(`Asia/Kolkata`)" in description  # the company zone when the schema was made
    assert "{company_zone}" not in description
    for section in definitions.SECTIONS:
        assert f"### {section.title}" in description
        for entry in section.entries:
            text = entry.text.replace("{company_zone}", "Asia/Kolkata").replace(
                "{persona_window_days}", str(WINDOW_DAYS)
            )
            assert f"- **{entry.term}**: {text}" in description


def test_the_markup_is_applied_after_the_text_is_escaped():
    hostile = '<script>alert(1)</script> `<img src=x onerror=alert(2)>` **"x" & y** *it\'s*'
    assert definitions.markup_html(hostile) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; "
        "<code>&lt;img src=x onerror=alert(2)&gt;</code> "
        "<strong>&quot;x&quot; &amp; y</strong> <em>it&#x27;s</em>"
    )
    # A code span's content is kept as it is; a lone star is a star.
    assert definitions.markup_html("`**a**` 2 * 3") == "<code>**a**</code> 2 * 3"


def test_a_hostile_definition_is_escaped_on_the_page(client, rep, monkeypatch):
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    section = Section("def-hostile", hostile, (Entry(hostile, f"{hostile} `{hostile}`"),))
    monkeypatch.setattr(definitions, "SECTIONS", (section,))
    client.force_login(rep)
    body = client.get("/reports/definitions/").content.decode()
    assert "<script>alert(1)" not in body
    assert "onerror=alert(2)>" not in body
    assert f"<code>{escape(hostile)}</code>" in body


REPORT_PAGES = [
    "/",
    "/reports/",
    "/reports/quality/",
    "/reports/operations/",
    "/sla/compliance/",
    "/personas/",
    "persona",
]


@pytest.mark.parametrize("page", REPORT_PAGES)
def test_every_report_links_to_the_definitions(client, manager, page):
    persona = PersonaFactory()
    if page == "persona":
        page = f"/personas/{persona.pk}/"
    client.force_login(manager)
    response = client.get(page)
    assert response.status_code == 200
    assert 'href="/reports/definitions/' in response.content.decode()


def test_the_dashboard_opens_on_the_quarter_with_quick_choices(client, manager):
    import datetime as dt

    from core import days

    client.force_login(manager)
    html = client.get("/").content.decode()
    today = days.today()
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    assert f'value="{quarter.isoformat()}"' in html  # the period form's start
    for label in ("This month", "Last 30 days", "This quarter", "This year"):
        assert label in html
    assert dt.date.fromisoformat(quarter.isoformat()) <= today
