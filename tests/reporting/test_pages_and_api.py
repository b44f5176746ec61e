"""The API, the shared dashboard and the explorer show the same funnel as the reference;
every table downloads as CSV; bad input is a 4xx with a message; query counts are pinned."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from reporting.funnel import ALL, FORWARD_PAIRS, FORWARD_STAGES, STAGES
from reporting.selectors import day_start
from reporting.services import funnel_snapshots_roll_up
from tests.reporting.history import base_day, reference, story

pytestmark = pytest.mark.django_db

FIRST = base_day()
LAST = base_day() + dt.timedelta(days=30)
PERIOD = (day_start(FIRST), day_start(LAST + dt.timedelta(days=1)))
QUERY = f"start={FIRST}&end={LAST}"
DASHBOARD_QUERIES = 12  # one more since days marked by back-fills are read live


@pytest.fixture
def leads(rep, other_rep):
    leads = story(owner=rep, other_owner=other_rep)
    funnel_snapshots_roll_up()
    return leads


@pytest.mark.parametrize("mode", ["cohort", "flow"])
@pytest.mark.parametrize("group_by", ["", "source", "owner", "campaign"])
def test_the_funnel_api_answers_the_reference_numbers(leads, marketer, api_as, mode, group_by):
    response = api_as(marketer).get(
        f"/api/v1/reports/funnel/?{QUERY}&mode={mode}&group_by={group_by}"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    expected = reference(mode, *PERIOD, group_by or "all")
    assert body["total"]["counts"] == expected[ALL].counts
    assert body["snapshot_days"] == (31 if mode == "cohort" else 0)
    rates = {(p["from"], p["to"]): p["rate"] for p in body["total"]["conversion"]}
    assert rates == pytest.approx(expected[ALL].conversion)
    medians = {(p["from"], p["to"]): p["median_seconds"] for p in body["total"]["conversion"]}
    for pair in FORWARD_PAIRS:
        want = expected[ALL].velocity[pair]
        assert medians[pair] == (None if want is None else want.total_seconds())
    assert float(body["total"]["won_revenue"]) == float(expected[ALL].won_revenue)
    if group_by:
        got = {group["key"]: group["counts"] for group in body["groups"]}
        assert got == {key: r.counts for key, r in expected.items() if key is not ALL}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=yesterday", "start"),
        ("start=2026-02-30", "start"),
        ("start=2026-03-01T00:00:00", "start"),
        ("start=2026-03-10&end=2026-03-01", "end"),
        ("mode=sideways", "mode"),
        ("group_by=shoe_size", "group_by"),
        ("start=2020-01-01&end=2026-01-01", "end"),
    ],
)
def test_bad_funnel_queries_are_400s_that_say_why(marketer, api_as, query, field):
    response = api_as(marketer).get(f"/api/v1/reports/funnel/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_funnel_api_needs_a_login(api):
    assert api.get("/api/v1/reports/funnel/").status_code in (401, 403)


def dashboard_counts(html: str) -> dict[str, int]:
    counts = {}
    for stage in STAGES:
        marker = f'data-testid="funnel-count-{stage}">'
        start = html.index(marker) + len(marker)
        counts[stage] = int(html[start : html.index("<", start)])
    return counts


def test_the_dashboard_shows_the_reference_cohort_funnel(leads, client, marketer):
    client.force_login(marketer)
    response = client.get(f"/?{QUERY}")

    assert response.status_code == 200
    html = response.content.decode()
    assert dashboard_counts(html) == reference("cohort", *PERIOD)[ALL].counts
    assert 'data-testid="dashboard-title">Shared dashboard<' in html
    assert "No revenue plan yet" in html


def test_the_dashboard_query_count_is_pinned(leads, client, marketer, django_assert_num_queries):
    client.force_login(marketer)
    client.get("/")  # warm the session and the user's groups
    # session, user, funnel (state, snapshots, live edge, velocity), plan, SLA health,
    # commitments and leads at risk: a fixed number whatever the number of leads.
    with django_assert_num_queries(DASHBOARD_QUERIES):
        client.get(f"/?{QUERY}")


def test_the_explorer_shows_every_group_with_links_to_its_leads(leads, client, marketer):
    client.force_login(marketer)
    response = client.get(f"/reports/?{QUERY}&mode=flow&group_by=source")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/reports/funnel/leads/?" in html
    for source in ("webinar", "ads", "(none)"):
        assert f'<th scope="row">{source}</th>' in html


def test_the_explorer_downloads_as_csv_with_the_same_numbers(leads, client, marketer):
    client.force_login(marketer)
    response = client.get(f"/reports/?{QUERY}&mode=cohort&group_by=source&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    total = rows[0]
    expected = reference("cohort", *PERIOD)[ALL].counts
    assert {stage: int(total[stage]) for stage in STAGES} == expected


def test_the_drill_down_lists_the_leads_behind_a_number(leads, client, marketer):
    client.force_login(marketer)
    response = client.get(f"/reports/funnel/leads/?{QUERY}&mode=cohort&stage=recycled")
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 lead: Recycled" in html
    assert "cleo@example.com" in html
    csv_rows = (
        client.get(f"/reports/funnel/leads/?{QUERY}&mode=cohort&stage=customer&format=csv")
        .content.decode()
        .splitlines()
    )
    assert len(csv_rows) == 1 + reference("cohort", *PERIOD)[ALL].counts["customer"]


def test_a_bad_drill_down_is_a_400(client, marketer):
    client.force_login(marketer)
    assert client.get("/reports/funnel/leads/?stage=nirvana").status_code == 400


def test_the_lead_quality_view_counts_feedback_by_source(leads, client, marketer, rep):
    from leads.models import SalesFeedback

    SalesFeedback.objects.create(lead=leads["ada"], author=rep, accepted=True, rating=5)
    SalesFeedback.objects.create(
        lead=leads["ben"], author=rep, accepted=False, rating=2, reason="not_ready"
    )
    SalesFeedback.objects.create(
        lead=leads["cleo"], author=rep, accepted=False, rating=1, reason="bad_fit"
    )
    client.force_login(marketer)
    today = timezone.localdate()
    response = client.get(f"/reports/quality/?start={today}&end={today}&format=csv")
    rows = {row["source"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["webinar"]["feedback"] == "2"
    assert rows["webinar"]["acceptance_rate"] == "0.5000"
    assert rows["webinar"]["rejected_bad_fit"] == "1"
    assert rows["ads"]["rejected_not_ready"] == "1"
    page = client.get(f"/reports/quality/?start={today}&end={today}&group_by=campaign")
    assert page.status_code == 200
    assert "Webinar" in page.content.decode()


def test_a_bad_period_on_a_page_falls_back_with_a_message(client, marketer):
    client.force_login(marketer)
    response = client.get("/reports/?start=tomorrow")
    assert response.status_code == 200
    assert "Showing the month to date instead" in response.content.decode()


def test_every_forward_stage_is_on_the_dashboard(leads, client, marketer):
    client.force_login(marketer)
    html = client.get("/").content.decode()
    for stage in FORWARD_STAGES:
        assert f"funnel-count-{stage}" in html
