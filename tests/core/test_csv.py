"""Every CSV export keeps formula-looking text as text (one writer: core.csv)."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from core.csv import safe_cell, text
from tests.leads.factories import CampaignFactory, LeadFactory

HOSTILE = '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_become_text(start):
    assert safe_cell(f"{start}1+1") == f"'{start}1+1"


def test_other_values_are_kept():
    assert safe_cell("Acme") == "Acme"
    assert safe_cell(-5) == -5  # a number is not text
    assert safe_cell(None) == ""
    moment = dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert safe_cell(moment) == "2026-03-01T08:00:00+00:00"
    assert text([["a", "=b"]]) == "a,'=b\r\n"


def _cells(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [cell for row in csv.reader(io.StringIO(body.decode())) for cell in row]


@pytest.fixture
def hostile_leads(db, rep):
    campaign = CampaignFactory(name=HOSTILE, source="webinar")
    now = timezone.now()
    lead = LeadFactory(
        email="victim@example.com",
        first_name=HOSTILE,
        company="@SUM(A1:A9)",
        campaign=campaign,
        owner=rep,
        created_at=now - dt.timedelta(hours=1),
    )
    return lead


@pytest.mark.parametrize(
    "url",
    [
        "/leads/export.csv",
        "/reports/?mode=cohort&group_by=campaign&format=csv",
        "/reports/funnel/leads/?mode=cohort&stage=lead&format=csv",
        "/reports/quality/?group_by=campaign&format=csv",
    ],
)
def test_no_export_lets_a_formula_through(client, manager, hostile_leads, rep, url):
    from leads.models import SalesFeedback

    SalesFeedback.objects.create(lead=hostile_leads, author=rep, accepted=True, rating=4)
    client.force_login(manager)
    cells = _cells(client.get(url))
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))], cells
    assert any(cell.startswith("'=") or cell.startswith("'@") for cell in cells), cells


def test_the_compliance_export_keeps_a_formula_name_as_text(client, manager, rep):
    rep.first_name, rep.last_name = "=cmd|' /C calc'!A0", ""
    rep.save()
    client.force_login(manager)
    for table in ("groups", "weeks", "commitments"):
        cells = _cells(client.get(f"/sla/compliance.csv?table={table}&group_by=owner"))
        assert not [cell for cell in cells if cell.startswith("=")]


def test_the_rejected_rows_report_keeps_a_formula_cell_as_text():
    from leads.imports import _report_lines

    report = _report_lines([(2, ["=1+1", "ok"], "email: not an email")], ",")
    assert report == "2,email: not an email,'=1+1,ok\n"
