import csv
import io
import re

import pytest

from sla.models import BusinessCalendar, SLAAgreement, SLAClock
from tests.conftest import PASSWORD
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    def _as(user):
        # Through the login page, as a person signs in (the lockout backend needs a request).
        response = client.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:300]
        return client

    return _as


def test_the_queue_lists_my_clocks_by_deadline_with_countdowns(
    signed_in, office_calendar, agreement, rep, other_rep, hand_off, django_assert_num_queries
):
    later = hand_off(rep, ny(2026, 1, 9, 16))
    sooner = hand_off(rep, ny(2026, 1, 8, 10))
    hand_off(other_rep, ny(2026, 1, 8, 9))
    client = signed_in(rep)
    client.get("/sla/")  # warm the session and the rows' cache
    # Page chrome (session, user, bell, roles, permissions), the queue's count, its page of
    # ids and what the page's rows show; every row comes out of the cache.
    with django_assert_num_queries(9):
        response = client.get("/sla/")
    page = response.content.decode()
    assert page.index(sooner.full_name) < page.index(later.full_name)
    assert page.count('data-testid="clock-row"') == 2
    assert 'data-deadline="2026-01-08T15:00:00-05:00"' in page  # shown in the rep's zone


def test_a_long_queue_is_paged_most_urgent_first_at_a_constant_cost(
    signed_in, office_calendar, agreement, rep, hand_off, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr("sla.views.QUEUE_PAGE_SIZE", 2)
    third = hand_off(rep, ny(2026, 1, 12, 10))
    first = hand_off(rep, ny(2026, 1, 8, 10))
    second = hand_off(rep, ny(2026, 1, 9, 10))
    client = signed_in(rep)
    client.get("/sla/")
    with django_assert_num_queries(9):
        page_one = client.get("/sla/").content.decode()
    # A row not rendered before is read as a clock once more, to render it.
    with django_assert_num_queries(10):
        page_two = client.get("/sla/?page=2").content.decode()
    with django_assert_num_queries(9):
        assert third.full_name in client.get("/sla/?page=2").content.decode()
    assert page_one.count('data-testid="clock-row"') == 2
    assert page_one.index(first.full_name) < page_one.index(second.full_name)
    assert third.full_name not in page_one
    assert "3 open, showing 1–2" in page_one
    assert third.full_name in page_two and page_two.count('data-testid="clock-row"') == 1
    # A page number that is not one shows the first page rather than an error.
    assert client.get("/sla/?page=zzz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_logging_an_attempt_in_place_answers_the_met_row(
    signed_in, office_calendar, agreement, rep, hand_off
):
    from django.utils import timezone

    lead = hand_off(rep, timezone.now() - timezone.timedelta(minutes=5))
    clock = SLAClock.objects.get(lead=lead)
    response = signed_in(rep).post(
        f"/sla/clocks/{clock.pk}/attempt/",
        {"channel": "call", "outcome": "connected"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'data-testid="clock-status">Met' in response.content.decode()


def test_a_teammates_lead_is_refused_with_a_message(
    signed_in, office_calendar, agreement, rep, other_rep, hand_off
):
    lead = hand_off(rep, ny(2026, 1, 9, 16))
    clock = SLAClock.objects.get(lead=lead)
    response = signed_in(other_rep).post(
        f"/sla/clocks/{clock.pk}/attempt/",
        {"channel": "call", "outcome": "connected"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert "Only the lead&#x27;s owner or a manager" in response.content.decode()
    assert not lead.attempts.exists()


def test_both_teams_read_the_agreement_as_a_document(signed_in, marketer, agreement):
    response = signed_in(marketer).get(f"/sla/agreements/{agreement.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Marketing commits to" in page and "Sales commits to" in page
    assert "<strong>5 business hours</strong>" in page
    assert signed_in(marketer).get(f"/sla/agreements/{agreement.pk}/edit/").status_code == 403


def test_a_manager_edits_a_used_agreement_into_a_new_version(
    signed_in, manager, office_calendar, agreement, rep, hand_off
):
    hand_off(rep, ny(2026, 1, 9, 16))
    client = signed_in(manager)
    form = client.get(f"/sla/agreements/{agreement.pk}/edit/").context["form"]
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update({"first_touch_hours": "3", "products": [], "personas": []})
    data["commitment_persona"] = ""
    response = client.post(f"/sla/agreements/{agreement.pk}/edit/", data, follow=True)
    assert response.status_code == 200
    current = SLAAgreement.objects.get(family=agreement.family, superseded_at__isnull=True)
    assert current.version == 2 and current.first_touch_hours == 3
    assert "Saved as version 2" in response.content.decode()


def test_a_manager_creates_a_calendar_and_a_bad_interval_is_shown_on_the_form(
    signed_in, manager, sales_team
):
    client = signed_in(manager)
    base = {"name": "Paris", "time_zone": "Europe/Paris", "holiday_country": "FR"}
    bad = client.post("/sla/calendars/new/", {**base, "day_0": "17:00-09:00"})
    assert bad.status_code == 200
    assert "must close after it opens" in bad.content.decode()
    good = client.post(
        "/sla/calendars/new/",
        {**base, "day_0": "09:00-12:00, 13:00-17:00", "teams": [sales_team.pk]},
    )
    assert good.status_code == 302
    calendar = BusinessCalendar.objects.get()
    assert calendar.hours == {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert calendar.team_assignments.get().team == sales_team


def test_the_compliance_page_has_a_fixed_query_count_and_exports_csv(
    signed_in,
    manager,
    office_calendar,
    agreement,
    rep,
    other_rep,
    hand_off,
    log_attempt,
    django_assert_num_queries,
):
    for owner in (rep, rep, other_rep):
        lead = hand_off(owner, ny(2026, 1, 9, 16))
        log_attempt(lead, owner, ny(2026, 1, 12, 10))
    client = signed_in(manager)
    query = "start=2026-01-01&end=2026-01-31&group_by=owner"
    client.get(f"/sla/compliance/?{query}")
    # page chrome, then one query per table: groups, weeks, agreements (+ products), months,
    # the hand-offs that started no clock, and one per lead filter's picker (campaigns,
    # products, personas, owners, teams)
    with django_assert_num_queries(18):
        response = client.get(f"/sla/compliance/?{query}")
    assert response.status_code == 200
    assert [row["handoffs"] for row in response.context["rows"]] == [2, 1]
    exported = client.get(f"/sla/compliance.csv?{query}&table=groups")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:3] == ["owner", "handoffs", "met"]
    assert rows[1][:3] == ["Rep", "2", "2"]
    assert client.get(f"/sla/compliance.csv?{query}&table=nope").status_code == 400


def test_compliance_is_for_managers(signed_in, rep):
    assert signed_in(rep).get("/sla/compliance/").status_code == 403
    for table in ("groups", "weeks", "commitments"):
        assert signed_in(rep).get(f"/sla/compliance.csv?table={table}").status_code == 403


def test_marketing_reads_its_own_commitments_and_not_the_reps_figures(
    signed_in, marketer, rep, api_as, office_calendar, agreement, hand_off
):
    from tests.leads.factories import ProductFactory

    agreement.products.add(ProductFactory(name="Widgets"))
    hand_off(rep, ny(2026, 1, 9, 16))
    client = signed_in(marketer)
    query = "start=2026-01-01&end=2026-01-31"
    response = client.get(f"/sla/compliance/?{query}")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="commitments-only"' in html
    assert 'id="compliance-commitments"' in html and "Widgets" in html
    assert 'id="compliance-groups"' not in html and 'id="compliance-weeks"' not in html
    assert "Our commitments" in html
    # Read only: no agreement is changed from here, and the reps' tables stay closed.
    assert client.get(f"/sla/compliance.csv?{query}&table=commitments").status_code == 200
    assert client.get(f"/sla/compliance.csv?{query}&table=groups").status_code == 403
    assert client.get(f"/sla/compliance.csv?{query}&table=weeks").status_code == 403
    body = api_as(marketer).get(f"/api/v1/sla/compliance/?{query}").json()
    assert body["rows"] == [] and body["weeks"] == []
    assert [row["product_name"] for row in body["commitments"]] == ["Widgets"]


def _rows_rendered(response) -> int:
    return sum(1 for template in response.templates if template.name == "sla/_queue_row.html")


def test_queue_rows_are_rendered_once_per_content_and_never_shown_stale(
    signed_in, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, ny(2026, 1, 8, 10), company="Acme")
    client = signed_in(rep)
    first = client.get("/sla/")
    again = client.get("/sla/")
    assert _rows_rendered(again) == 0, "an unchanged row comes from the cache"
    assert again.content.decode().count("Acme") == first.content.decode().count("Acme") == 1
    # Changes that bypass the services (and so any invalidation) still show at once: a
    # row's cache key is a digest of everything it shows.
    type(lead).objects.filter(pk=lead.pk).update(company="Globex")
    SLAClock.objects.filter(lead=lead).update(attempts=3)
    changed = client.get("/sla/")
    page = changed.content.decode()
    assert _rows_rendered(changed) == 1
    assert "Globex" in page and "Acme" not in page
    assert "3 / 4" in page


def test_queue_rows_show_times_in_each_viewers_zone(
    signed_in, office_calendar, agreement, rep, hand_off
):
    hand_off(rep, ny(2026, 1, 8, 10))
    client = signed_in(rep)
    assert "Thu 8 Jan, 10:00" in client.get("/sla/").content.decode()
    rep.time_zone = "Europe/Paris"
    rep.save(update_fields=["time_zone"])
    assert "Thu 8 Jan, 16:00" in client.get("/sla/").content.decode()


def test_a_cached_row_posts_with_this_sessions_csrf_token(
    office_calendar, agreement, rep, hand_off
):
    import re

    from django.test import Client

    hand_off(rep, ny(2026, 1, 8, 10))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep)
    browser.get("/sla/")
    page = browser.get("/sla/").content.decode()  # the row comes from the cache now
    row = page[page.index('id="sla-queue"') :]
    (action,) = re.findall(r'<form[^>]*action="([^"]+)"', row)
    (token,) = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', row)
    refused = browser.post(action, {"channel": "call", "outcome": "no_answer"})
    assert refused.status_code == 403
    logged = browser.post(
        action, {"channel": "call", "outcome": "no_answer", "csrfmiddlewaretoken": token}
    )
    assert logged.status_code == 302


def test_the_queue_is_rendered_when_the_cache_is_down(
    cache_unreachable, client, office_calendar, agreement, rep, hand_off
):
    lead = hand_off(rep, ny(2026, 1, 8, 10), company="Acme")
    client.force_login(rep)
    response = client.get("/sla/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme" in page and lead.full_name in page
    assert page.count('data-testid="clock-row"') == 1


def test_the_calendar_form_picks_its_time_zone_from_a_grouped_list(signed_in, manager):
    client = signed_in(manager)
    page = client.get("/sla/calendars/new/").content.decode()
    assert '<optgroup label="Europe">' in page and '<option value="Europe/Paris">Paris' in page
    response = client.post(
        "/sla/calendars/new/",
        {"name": "Mars office", "time_zone": "Mars/Olympus_Mons", "day_0": "09:00-17:00"},
    )
    assert "Choose a time zone from the list." in response.content.decode()


@pytest.fixture
def filtered_world(
    office_calendar, agreement, rep, other_rep, outsider_rep, sales_team, hand_off, log_attempt
):
    """Hand-offs differing in every lead filter, met and breached."""
    from tests.leads.factories import CampaignFactory, ProductFactory
    from tests.personas.factories import PersonaFactory

    widgets = ProductFactory(name="Widgets")
    webinar = CampaignFactory(name="Spring webinar", product=widgets)
    olivia = PersonaFactory(name="Ops Olivia")
    leads = [
        hand_off(rep, ny(2026, 1, 9, 16), team=sales_team, source="webinar", campaign=webinar),
        hand_off(rep, ny(2026, 1, 13, 10), team=sales_team, source="ads", persona=olivia),
        hand_off(other_rep, ny(2026, 1, 14, 11), team=sales_team, product=widgets),
        hand_off(outsider_rep, ny(2026, 1, 20, 9), team=outsider_rep.team, source="ads"),
    ]
    log_attempt(leads[0], rep, ny(2026, 1, 12, 10))  # met
    log_attempt(leads[2], other_rep, ny(2026, 1, 16, 16))  # breached, late
    return {
        "source": "ads",
        "campaign": webinar.pk,
        "product": widgets.pk,
        "persona": olivia.pk,
        "owner": rep.pk,
        "team": sales_team.pk,
    }


def _page_figures(response) -> tuple[list, list]:
    from sla.api import ROW_FIELDS

    rows = [{key: row[key] for key in ROW_FIELDS} for row in response.context["rows"]]
    weeks = [
        {**week, "week": week["week"].isoformat()}
        for week in (
            {key: row[key] for key in ("week", "handoffs", "met", "breached", "met_rate")}
            for row in response.context["weeks"]
        )
    ]
    return rows, weeks


@pytest.mark.parametrize("group_by", ["owner", "team", "product"])
@pytest.mark.parametrize(
    "name", ["source", "campaign", "product", "persona", "owner", "team", "everything"]
)
def test_the_compliance_page_with_a_lead_filter_shows_the_apis_figures(
    client, api_as, manager, filtered_world, name, group_by
):
    if name == "everything":
        filters = {"source": "ads", "owner": filtered_world["owner"]}
    else:
        filters = {name: filtered_world[name]}
    query = "&".join(
        [
            "start=2026-01-01&end=2026-01-31",
            f"group_by={group_by}",
            *(f"{key}={value}" for key, value in filters.items()),
        ]
    )
    api = api_as(manager).get(f"/api/v1/sla/compliance/?{query}")
    assert api.status_code == 200, api.content[:300]
    body = api.json()
    everything = api_as(manager).get("/api/v1/sla/compliance/?start=2026-01-01&end=2026-01-31")
    total = sum(row["handoffs"] for row in everything.json()["rows"])
    filtered = sum(row["handoffs"] for row in body["rows"])
    assert 0 < filtered < total == 4  # the filter narrows the figures

    client.force_login(manager)
    page = client.get(f"/sla/compliance/?{query}")
    assert page.status_code == 200
    assert _page_figures(page) == (body["rows"], body["weeks"])
    html = page.content.decode()
    for row in body["rows"]:
        assert re.search(
            rf'<th scope="row">{re.escape(row["label"])}</th>\s*<td class="text-end">'
            rf"{row['handoffs']}</td>",
            html,
        ), row
    for key, value in filters.items():  # the form shows the filter it applied
        assert re.search(rf'(value="{value}" selected|name="{key}" [^>]*value="{value}")', html)

    # The CSV links keep the filters and export the same figures.
    for table, expected in (("groups", body["rows"]), ("weeks", body["weeks"])):
        link = f"/sla/compliance.csv?{query.replace('&', '&amp;')}&amp;table={table}"
        assert link in html
        exported = list(
            csv.DictReader(io.StringIO(client.get(link.replace("&amp;", "&")).content.decode()))
        )
        assert [int(row["handoffs"]) for row in exported] == [row["handoffs"] for row in expected]
        assert [int(row["met"]) for row in exported] == [row["met"] for row in expected]


@pytest.mark.parametrize(
    "name, value",
    [
        ("campaign", "spring"),
        ("product", "0"),
        ("persona", "-3"),
        ("owner", "1.5"),
        ("team", str(2**63)),
        ("source", "x" * 41),
    ],
)
def test_a_bad_lead_filter_on_the_compliance_page_is_a_field_message(
    client, api_as, manager, filtered_world, name, value
):
    period = "start=2026-01-01&end=2026-01-31"
    # One valid filter beside the bad one: the page keeps it, as the API takes it alone.
    kept = "owner" if name == "source" else "source"
    kept = f"&{kept}={filtered_world[kept]}"
    refused = api_as(manager).get(f"/api/v1/sla/compliance/?{period}&{name}={value}{kept}")
    assert refused.status_code == 400
    message = refused.json()["errors"][name][0]
    client.force_login(manager)
    page = client.get(f"/sla/compliance/?{period}&{name}={value}{kept}")
    assert page.status_code == 200
    html = page.content.decode()
    feedback = re.search(rf'<div class="invalid-feedback" id="{name}-error">([^<]*)</div>', html)
    assert feedback is not None and message in feedback.group(1)
    assert f'aria-describedby="{name}-error"' in html
    body = api_as(manager).get(f"/api/v1/sla/compliance/?{period}{kept}").json()
    assert _page_figures(page) == (body["rows"], body["weeks"])
    exported = client.get(f"/sla/compliance.csv?{period}&{name}={value}{kept}&table=groups")
    assert exported.status_code == 200
    exported_rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [int(row["handoffs"]) for row in exported_rows] == [
        row["handoffs"] for row in body["rows"]
    ]


def test_the_weekly_table_says_its_weeks_are_the_companys(
    client, manager, settings, filtered_world
):
    settings.TIME_ZONE = "America/Los_Angeles"
    client.force_login(manager)
    html = client.get("/sla/compliance/?start=2026-01-01&end=2026-01-31").content.decode()
    caption = re.search(r"<caption>Per week of hand-off[^<]*</caption>", html).group(0)
    assert "America/Los_Angeles" in caption and "UTC" not in caption
    weeks = [
        week["week"]
        for week in client.get("/sla/compliance/?start=2026-01-01&end=2026-01-31").context["weeks"]
    ]
    assert weeks and all(week.weekday() == 0 for week in weeks)
