"""Campaigns and products kept in the browser: who may see and change them, their pages'
figures, plain-word form messages for bad and hostile input, and what archiving does."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from leads.models import Campaign, Lead, Product, RoutingRule
from leads.selectors import can_manage_campaigns, can_view_campaigns
from leads.services import lead_transition
from leads.services.catalog import campaign_archive, product_references
from tests.conftest import make_user
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def integrator(db):
    """Someone with the Integrations role only: no team role."""
    return make_user("integrator", Role.INTEGRATIONS)


@pytest.fixture
def product(db):
    return ProductFactory(name="Analytics", code="analytics")


def campaign_data(**overrides) -> dict:
    data = {
        "name": "Spring webinar",
        "channel": "webinar",
        "source": "webinar",
        "product": "",
        "cost": "2500.00",
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
    }
    return {**data, **overrides}


def errors_of(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


# -- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "view", "manage"),
    [
        ("marketer", True, True),
        ("manager", True, True),
        ("rep", True, False),
        ("integrator", False, False),
        ("admin_user", True, True),
    ],
)
def test_the_policy_lets_marketing_and_managers_manage_and_reps_read(request, person, view, manage):
    user = request.getfixturevalue(person)
    assert can_view_campaigns(user) is view
    assert can_manage_campaigns(user) is manage


def test_a_rep_reads_campaigns_and_products_but_changes_nothing(client, rep, product):
    campaign = CampaignFactory(name="Trade fair", product=product)
    client.force_login(rep)

    listing = client.get(reverse("leads:campaign_list"))
    assert listing.status_code == 200
    assert "Trade fair" in listing.content.decode()
    assert 'data-testid="new-campaign"' not in listing.content.decode()
    page = client.get(reverse("leads:campaign_detail", args=[campaign.pk]))
    assert page.status_code == 200
    assert reverse("leads:campaign_edit", args=[campaign.pk]) not in page.content.decode()
    assert client.get(reverse("leads:product_list")).status_code == 200
    assert client.get(reverse("leads:product_detail", args=[product.pk])).status_code == 200

    for url in (
        reverse("leads:campaign_create"),
        reverse("leads:campaign_edit", args=[campaign.pk]),
        reverse("leads:product_create"),
        reverse("leads:product_edit", args=[product.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("leads:campaign_create"), campaign_data()).status_code == 403
    assert client.post(reverse("leads:campaign_archive", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("leads:product_archive", args=[product.pk])).status_code == 403
    assert client.post(reverse("leads:product_delete", args=[product.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.archived_at is None
    assert Campaign.objects.count() == 1 and Product.objects.filter(pk=product.pk).exists()


def test_someone_without_a_team_role_cannot_open_the_pages(client, integrator):
    campaign = CampaignFactory()
    client.force_login(integrator)
    assert client.get(reverse("leads:campaign_list")).status_code == 403
    assert client.get(reverse("leads:campaign_detail", args=[campaign.pk])).status_code == 403
    assert client.get(reverse("leads:product_list")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("leads:campaign_list"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_unknown_campaign_or_product_is_a_404(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("leads:campaign_detail", args=[999999])).status_code == 404
    assert client.get(reverse("leads:product_edit", args=[999999])).status_code == 404
    assert client.post(reverse("leads:campaign_archive", args=[999999])).status_code == 404


def test_only_posts_change_things(client, marketer):
    campaign = CampaignFactory()
    client.force_login(marketer)
    assert client.get(reverse("leads:campaign_archive", args=[campaign.pk])).status_code == 405
    assert (
        client.get(reverse("leads:product_delete", args=[campaign.product_id])).status_code == 405
    )


# -- creating and editing campaigns ---------------------------------------------------------------


def test_a_marketer_creates_a_campaign_and_finds_it_in_the_list(client, marketer, product):
    client.force_login(marketer)
    assert client.get(reverse("leads:campaign_create")).status_code == 200

    response = client.post(
        reverse("leads:campaign_create"), campaign_data(product=product.pk, source=" Webinar ")
    )

    campaign = Campaign.objects.get(name="Spring webinar")
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:campaign_detail", args=[campaign.pk])
    assert (campaign.channel, campaign.source, campaign.product) == ("webinar", "webinar", product)
    assert campaign.cost == Decimal("2500.00")
    assert (campaign.starts_on, campaign.ends_on) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert "Spring webinar" in client.get(reverse("leads:campaign_list")).content.decode()


def test_a_manager_edits_a_campaign(client, manager):
    campaign = CampaignFactory(name="Old name", cost=10)
    client.force_login(manager)
    form = client.get(reverse("leads:campaign_edit", args=[campaign.pk]))
    assert 'value="Old name"' in form.content.decode()

    response = client.post(
        reverse("leads:campaign_edit", args=[campaign.pk]),
        campaign_data(name="New name", cost="", ends_on=""),
    )

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.cost, campaign.ends_on) == ("New name", Decimal(0), None)


def test_a_campaign_cannot_end_before_it_starts(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:campaign_create"),
        campaign_data(starts_on="2026-03-10", ends_on="2026-03-09"),
    )
    assert response.status_code == 400
    assert errors_of(response, "ends_on") == ["The campaign cannot end before it starts."]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("-1", "The cost cannot be negative."),
        ("1000000000.01", "The cost can be at most 1,000,000,000.00."),
        ("1e30", "The cost can be at most 1,000,000,000.00."),
        ("abc", "Give the cost as a number, e.g. 1500.00."),
        ("NaN", "Give the cost as a number, e.g. 1500.00."),
        ("Infinity", "Give the cost as a number, e.g. 1500.00."),
    ],
)
def test_the_cost_is_a_sane_number(client, marketer, cost, message):
    client.force_login(marketer)
    response = client.post(reverse("leads:campaign_create"), campaign_data(cost=cost))
    assert response.status_code == 400
    assert errors_of(response, "cost") == [message]


@pytest.mark.parametrize("day", ["2026-13-45", "0001-01-01", "tomorrow", "9999-12-31"])
def test_a_bad_date_is_a_message_on_its_field(client, marketer, day):
    client.force_login(marketer)
    response = client.post(reverse("leads:campaign_create"), campaign_data(starts_on=day))
    assert response.status_code == 400
    assert errors_of(response, "starts_on")


def test_campaign_names_are_unique_whatever_their_case(client, marketer):
    CampaignFactory(name="Spring Webinar")
    client.force_login(marketer)
    response = client.post(reverse("leads:campaign_create"), campaign_data(name="spring webinar"))
    assert response.status_code == 400
    assert errors_of(response, "name") == ["A campaign named “spring webinar” already exists."]
    # The message names no constraint.
    assert "constraint" not in response.content.decode().lower()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "x" * 161),
        ("source", "not a slug!"),
        ("source", ""),
        ("channel", "carrier_pigeon"),
        ("product", "999999"),
        ("product", "'; DROP TABLE leads_product; --"),
    ],
)
def test_bad_campaign_input_is_a_message_on_its_field(client, marketer, field, value):
    client.force_login(marketer)
    response = client.post(reverse("leads:campaign_create"), campaign_data(**{field: value}))
    assert response.status_code == 400
    assert errors_of(response, field)
    assert not Campaign.objects.exists()


def test_hostile_names_are_shown_escaped(client, marketer):
    client.force_login(marketer)
    client.post(reverse("leads:campaign_create"), campaign_data(name=HOSTILE))
    campaign = Campaign.objects.get()
    for url in (
        reverse("leads:campaign_list"),
        reverse("leads:campaign_detail", args=[campaign.pk]),
        reverse("leads:campaign_edit", args=[campaign.pk]),
    ):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-1",
        "page=99999999999999999999",
        "archived=%3Cscript%3E",
        "archived=1&page=",
    ],
)
def test_odd_query_strings_are_harmless(client, marketer, query):
    CampaignFactory()
    client.force_login(marketer)
    assert client.get(f"{reverse('leads:campaign_list')}?{query}").status_code == 200
    assert client.get(f"{reverse('leads:product_list')}?{query}").status_code == 200


# -- a campaign's page: its leads, funnel and won revenue -------------------------------------


def test_the_campaign_page_shows_its_leads_funnel_and_won_revenue(client, marketer, rep):
    campaign = CampaignFactory(name="Webinar", cost=Decimal("1000"))
    other = CampaignFactory(name="Other")
    start = timezone.now() - dt.timedelta(days=10)
    won = LeadFactory(campaign=campaign, owner=rep, created_at=start, amount=Decimal("1200"))
    for stage in ("sql", "opportunity", "customer"):
        lead_transition(lead=won, to_stage=stage, reason="test")
    second = LeadFactory(campaign=campaign, created_at=start, amount=Decimal("300"))
    lead_transition(lead=second, to_stage="customer")
    mql = LeadFactory(campaign=campaign, created_at=start)
    lead_transition(lead=mql, to_stage="mql")
    LeadFactory(campaign=campaign, created_at=start)
    LeadFactory(campaign=other, created_at=start, amount=Decimal("999"))
    client.force_login(marketer)

    response = client.get(reverse("leads:campaign_detail", args=[campaign.pk]))

    funnel = response.context["funnel"]
    assert funnel["total"] == 4
    assert [step["count"] for step in funnel["reached"]] == [4, 3, 2, 2, 2]
    now = {step["stage"]: step["count"] for step in funnel["now"]}
    assert (now["lead"], now["mql"], now["customer"]) == (1, 1, 2)
    assert funnel["won_revenue"] == Decimal("1500")
    html = response.content.decode()
    assert 'data-testid="campaign-won-revenue">1,500.00<' in html
    # The link goes to the lead list filtered by the campaign, which lists as many leads.
    link = f"{reverse('leads:index')}?campaign={campaign.pk}"
    assert f'href="{link}"' in html
    listing = client.get(link)
    assert listing.context["page"].paginator.count == 4


def test_a_rep_sees_the_figures_of_the_leads_they_can_see(client, rep, outsider_rep):
    campaign = CampaignFactory()
    LeadFactory(campaign=campaign, owner=rep, amount=Decimal("100"))
    LeadFactory(campaign=campaign, owner=outsider_rep, amount=Decimal("100"))
    client.force_login(rep)
    response = client.get(reverse("leads:campaign_detail", args=[campaign.pk]))
    assert response.context["funnel"]["total"] == 1


def test_the_campaign_list_query_count_is_pinned(client, marketer, django_assert_num_queries):
    for index in range(5):
        campaign = CampaignFactory(name=f"Campaign {index}")
        LeadFactory.create_batch(2, campaign=campaign)
    client.force_login(marketer)
    client.get(reverse("leads:campaign_list"))  # session and roles warmed up
    # session, user, roles, count, page of campaigns, lead figures, notifications
    with django_assert_num_queries(7):
        response = client.get(reverse("leads:campaign_list"))
    assert len(response.context["rows"]) == 5
    assert all(row["figures"]["leads"] == 2 for row in response.context["rows"])


# -- archiving ------------------------------------------------------------------------------------


def test_archiving_hides_a_campaign_until_shown_and_its_leads_keep_it(client, marketer):
    campaign = CampaignFactory(name="Winter fair")
    lead = LeadFactory(campaign=campaign)
    client.force_login(marketer)

    response = client.post(reverse("leads:campaign_archive", args=[campaign.pk]))

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.archived_at is not None
    assert listed(client, reverse("leads:campaign_list")) == []
    shown = client.get(reverse("leads:campaign_list") + "?archived=1")
    assert [row["campaign"] for row in shown.context["rows"]] == [campaign]
    assert 'data-testid="archived-badge"' in shown.content.decode()
    assert Lead.objects.get(pk=lead.pk).campaign_id == campaign.pk
    detail = client.get(reverse("leads:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200 and detail.context["funnel"]["total"] == 1

    client.post(reverse("leads:campaign_archive", args=[campaign.pk]), {"unarchive": "1"})
    campaign.refresh_from_db()
    assert campaign.archived_at is None
    assert listed(client, reverse("leads:campaign_list")) == [campaign]


def listed(client, url: str) -> list:
    return [next(iter(row.values())) for row in client.get(url).context["rows"]]


def test_archiving_twice_keeps_the_first_instant(marketer):
    campaign = CampaignFactory()
    first = campaign_archive(campaign=campaign, actor=marketer).archived_at
    later = timezone.now() + dt.timedelta(hours=1)
    assert campaign_archive(campaign=campaign, actor=marketer, now=later).archived_at == first


def test_an_archived_campaign_leaves_the_lead_edit_picker_except_for_its_own_leads(
    client, marketer
):
    active = CampaignFactory(name="Active one")
    archived = CampaignFactory(name="Archived one")
    campaign_archive(campaign=archived, actor=marketer)
    elsewhere = LeadFactory(campaign=active)
    inside = LeadFactory(campaign=archived)
    client.force_login(marketer)

    choices = client.get(reverse("leads:edit", args=[elsewhere.pk])).context["form"]
    assert list(choices.fields["campaign"].queryset) == [active]
    own = client.get(reverse("leads:edit", args=[inside.pk])).context["form"]
    assert set(own.fields["campaign"].queryset) == {active, archived}
    refused = client.post(
        reverse("leads:edit", args=[elsewhere.pk]),
        {"email": elsewhere.email, "campaign": archived.pk, **management(0)},
    )
    assert refused.status_code == 400
    assert refused.context["form"].errors["campaign"]


def management(total: int) -> dict:
    return {
        "attributes-TOTAL_FORMS": str(total),
        "attributes-INITIAL_FORMS": "0",
        "attributes-MIN_NUM_FORMS": "0",
        "attributes-MAX_NUM_FORMS": "50",
    }


def test_new_leads_from_the_api_and_imports_cannot_name_an_archived_campaign(api_as, marketer):
    archived = CampaignFactory(name="Old fair")
    campaign_archive(campaign=archived, actor=marketer)
    client = api_as(marketer)

    created = client.post(
        "/api/v1/leads/", {"email": "new@example.com", "campaign": "old fair"}, format="json"
    )
    assert created.status_code == 400
    assert created.json()["errors"]["campaign"] == [
        "The campaign “Old fair” is archived: new leads go to an active one."
    ]
    by_id = client.post(
        "/api/v1/leads/", {"email": "new@example.com", "campaign": archived.pk}, format="json"
    )
    assert by_id.status_code == 400 and "campaign" in by_id.json()["errors"]

    # A lead that already came from it keeps it when an integration sends it again.
    LeadFactory(external_id="crm-1", campaign=archived)
    bulk = client.post(
        "/api/v1/leads/bulk/",
        [
            {"external_id": "crm-1", "email": "known@example.com", "campaign": "Old fair"},
            {"external_id": "crm-2", "email": "fresh@example.com", "campaign": "Old fair"},
        ],
        format="json",
    )
    assert bulk.status_code == 207
    body = bulk.json()
    assert body["updated"] == 1 and body["created"] == 0
    assert body["errors"][0]["index"] == 1 and "campaign" in body["errors"][0]["errors"]


def test_the_campaigns_api_shows_archiving_and_filters_by_it(api_as, marketer):
    active = CampaignFactory(name="Active")
    archived = CampaignFactory(name="Archived")
    campaign_archive(campaign=archived, actor=marketer)
    client = api_as(marketer)

    everything = client.get("/api/v1/campaigns/").json()["results"]
    assert {row["name"]: row["archived_at"] is not None for row in everything} == {
        "Active": False,
        "Archived": True,
    }
    only_archived = client.get("/api/v1/campaigns/?archived=true").json()["results"]
    assert [row["id"] for row in only_archived] == [archived.pk]
    only_active = client.get("/api/v1/campaigns/?archived=false").json()["results"]
    assert [row["id"] for row in only_active] == [active.pk]
    # archived_at is read-only: archiving is the page's action.
    client.patch(f"/api/v1/campaigns/{active.pk}/", {"archived_at": None}, format="json")
    client.patch(
        f"/api/v1/campaigns/{active.pk}/", {"archived_at": "2026-01-01T00:00:00Z"}, format="json"
    )
    active.refresh_from_db()
    assert active.archived_at is None


# -- products -------------------------------------------------------------------------------------


def test_a_marketer_creates_and_edits_a_product(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:product_create"),
        {"name": "Help desk", "code": "Help-Desk", "description": "Tickets."},
    )
    product = Product.objects.get(name="Help desk")
    assert response.status_code == 302 and product.code == "help-desk" and product.is_active

    client.post(
        reverse("leads:product_edit", args=[product.pk]),
        {"name": "Helpdesk", "code": "helpdesk", "description": ""},
    )
    product.refresh_from_db()
    assert (product.name, product.code) == ("Helpdesk", "helpdesk")
    assert "Helpdesk" in client.get(reverse("leads:product_list")).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "analytics", "code": "other"},
            "name",
            "A product named “analytics” already exists.",
        ),
        (
            {"name": "Other", "code": "ANALYTICS"},
            "code",
            "Another product has the code “analytics”.",
        ),
        ({"name": "Other", "code": "no spaces"}, "code", None),
        ({"name": "", "code": "x"}, "name", None),
        ({"name": HOSTILE[:120], "code": "x" * 41}, "code", None),
    ],
)
def test_bad_product_input_is_a_message_on_its_field(
    client, marketer, product, data, field, message
):
    client.force_login(marketer)
    response = client.post(reverse("leads:product_create"), {"description": "", **data})
    assert response.status_code == 400
    errors = errors_of(response, field)
    assert errors and (message is None or errors == [message])
    assert Product.objects.count() == 1


def test_an_archived_product_leaves_the_pickers_and_comes_back(client, marketer, product):
    spare = ProductFactory(name="Spare", code="spare")
    lead = LeadFactory(product=spare)
    client.force_login(marketer)

    client.post(reverse("leads:product_archive", args=[product.pk]))

    product.refresh_from_db()
    assert product.is_active is False
    assert listed(client, reverse("leads:product_list")) == [spare]
    assert listed(client, reverse("leads:product_list") + "?archived=1") == [spare, product]
    edit = client.get(reverse("leads:edit", args=[lead.pk])).context["form"]
    assert product not in edit.fields["product"].queryset
    new_campaign = client.get(reverse("leads:campaign_create")).context["form"]
    assert product not in new_campaign.fields["product"].queryset

    client.post(reverse("leads:product_archive", args=[product.pk]), {"unarchive": "1"})
    product.refresh_from_db()
    assert product.is_active is True


def test_a_product_nothing_uses_can_be_deleted(client, marketer):
    unused = ProductFactory(name="Unused", code="unused")
    client.force_login(marketer)
    page = client.get(reverse("leads:product_detail", args=[unused.pk])).content.decode()
    assert reverse("leads:product_delete", args=[unused.pk]) in page

    response = client.post(reverse("leads:product_delete", args=[unused.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("leads:product_list")
    assert not Product.objects.filter(pk=unused.pk).exists()


def test_a_product_in_use_is_not_deleted_and_the_page_says_so(
    client, marketer, sales_team, product
):
    LeadFactory.create_batch(2, product=product)
    CampaignFactory(product=product)
    RoutingRule.objects.create(name="Analytics to East", product=product, team=sales_team)
    client.force_login(marketer)
    page = client.get(reverse("leads:product_detail", args=[product.pk])).content.decode()
    assert "In use (" in page and "2 leads" in page
    assert reverse("leads:product_delete", args=[product.pk]) not in page

    response = client.post(reverse("leads:product_delete", args=[product.pk]), follow=True)

    assert Product.objects.filter(pk=product.pk).exists()
    assert RoutingRule.objects.filter(product=product).count() == 1
    text = response.content.decode()
    assert "is in use (" in text and "cannot be deleted" in text and "Archive it instead" in text
    assert dict(product_references(product)) == {"leads": 2, "campaign": 1, "routing rule": 1}


# -- navigation ------------------------------------------------------------------------------------


def test_the_menu_has_campaigns_for_the_teams_and_marks_it_on_its_pages(client, rep, integrator):
    client.force_login(rep)
    html = client.get(reverse("leads:product_list")).content.decode()
    nav = {
        item["label"]: item["active"]
        for item in client.get(reverse("leads:campaign_list")).context["nav_items"]
    }
    assert nav["Campaigns"] is True and nav["Leads"] is False
    assert "</i> Campaigns</a>" in html
    leads_nav = client.get(reverse("leads:index")).context["nav_items"]
    assert {item["label"]: item["active"] for item in leads_nav}["Leads"] is True

    client.force_login(integrator)
    assert "</i> Campaigns</a>" not in client.get("/").content.decode()
