"""Managers keep the routing rules in the browser: the list in evaluation order, create,
edit, delete after a confirmation, and moving a rule up or down. Nobody else may."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Team
from leads.models import RoutingAssignment, RoutingRule
from leads.routing import leads_route
from leads.services.routing import routing_rule_create
from personas.models import Persona
from tests.conftest import make_user
from tests.leads.factories import LeadFactory, ProductFactory
from tests.personas.factories import PersonaFactory

pytestmark = pytest.mark.django_db

NEW = reverse("leads:routing_rule_new")
LIST = reverse("leads:routing_rules")


@pytest.fixture
def present_rep(rep):
    """`rep` is in Sales East, active and not away: routing may pick them."""
    return rep


def rule(team, name="Anything", priority=100, **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, team=team, priority=priority, **fields)


def form_data(team, /, **overrides) -> dict:
    data = {
        "name": "DACH",
        "team": str(team.pk),
        "product": "",
        "persona": "",
        "countries": "de, AT,ch",
        "priority": "",
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def names_in_the_list(html: str, rules) -> list[str]:
    """The names of `rules` in the order their rows come in `html`."""
    ordered = sorted(rules, key=lambda item: html.index(f'id="routing-rule-{item.pk}"'))
    return [item.name for item in ordered]


def lead_in(country: str, product=None) -> dict:
    lead = LeadFactory(country=country, product=product)
    return {
        "id": lead.pk,
        "product_id": lead.product_id,
        "persona_id": lead.persona_id,
        "country": lead.country,
    }


# -- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["rep", "marketer"])
def test_only_managers_reach_the_routing_pages(client, request, person, sales_team):
    existing = rule(sales_team)
    client.force_login(request.getfixturevalue(person))
    edit = reverse("leads:routing_rule_edit", args=[existing.pk])
    delete = reverse("leads:routing_rule_delete", args=[existing.pk])
    move = reverse("leads:routing_rule_move", args=[existing.pk])
    for url in (LIST, NEW, edit, delete):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, form_data(sales_team)).status_code == 403
    assert client.post(edit, form_data(sales_team, name="Mine now")).status_code == 403
    assert client.post(delete).status_code == 403
    assert client.post(move, {"direction": "down"}).status_code == 403
    existing.refresh_from_db()
    assert existing.name == "Anything"
    assert RoutingRule.objects.count() == 1


def test_only_managers_see_the_way_to_the_routing_rules(client, manager, rep, marketer):
    for person, shown in ((manager, True), (rep, False), (marketer, False)):
        client.force_login(person)
        html = client.get(reverse("leads:index")).content.decode()
        assert ('data-testid="routing-rules-link"' in html) is shown, person


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_an_unknown_rule_is_a_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("leads:routing_rule_edit", args=[987654])).status_code == 404
    assert client.post(reverse("leads:routing_rule_delete", args=[987654])).status_code == 404


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_the_rules_in_evaluation_order_with_a_pinned_query_count(
    client, manager, sales_team, other_sales_team, present_rep, django_assert_num_queries
):
    product = ProductFactory(name="Analytics")
    persona = PersonaFactory(name="Ops lead")
    late = rule(sales_team, "Late", priority=50, countries=["FR"])
    early = rule(other_sales_team, "Early", priority=10, product=product, persona=persona)
    tie_first = rule(sales_team, "Tie first", priority=30)  # older: tried first
    tie_second = rule(sales_team, "Tie second", priority=30, countries=["DE"])
    paused = rule(sales_team, "Paused", priority=1, is_active=False)
    client.force_login(manager)
    client.get(LIST)
    # session, user, groups, bell count, the rules with their teams, products, personas and
    # available reps
    with django_assert_num_queries(5):
        response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    rules = [paused, early, tie_first, tie_second, late]
    assert names_in_the_list(html, rules) == ["Paused", "Early", "Tie first", "Tie second", "Late"]
    assert "Analytics" in html and "Ops lead" in html and "FR" in html
    # Sales West has nobody routing could pick; Sales East has the rep.
    assert html.count('data-testid="rule-no-reps"') == 1
    # "Tie first" takes every lead: the rules after it are never reached.
    assert html.count('data-testid="rule-shadowed"') == 2
    assert "Never reached: “Tie first” above takes all its leads." in html


def test_a_rule_named_with_markup_is_shown_as_text(client, manager, sales_team):
    rule(sales_team, name='<script>alert("x")</script>', countries=["DE"])
    client.force_login(manager)
    html = client.get(LIST).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html


def test_without_rules_the_page_says_what_happens_to_leads(client, manager):
    client.force_login(manager)
    html = client.get(LIST).content.decode()
    assert "No routing rule yet" in html
    assert "wait unassigned" in html


# -- create and edit ----------------------------------------------------------------------------


def test_a_manager_creates_a_rule_that_routing_then_follows(
    client, manager, sales_team, present_rep
):
    rule(sales_team, "Existing", priority=40, countries=["US"])
    client.force_login(manager)
    response = client.post(NEW, form_data(sales_team))
    assert response.status_code == 302
    assert response["Location"] == LIST
    created = RoutingRule.objects.get(name="DACH")
    assert created.countries == ["DE", "AT", "CH"]
    assert created.priority == 50  # after the last rule
    assert created.is_active
    german = lead_in("DE")
    assert leads_route([german])[german["id"]].rule_id == created.pk
    page = client.get(LIST).content.decode()
    assert "Routing rule “DACH” is saved." in page


def test_a_manager_edits_a_rule(client, manager, sales_team, other_sales_team):
    existing = rule(sales_team, "DACH", priority=20, countries=["DE"])
    url = reverse("leads:routing_rule_edit", args=[existing.pk])
    client.force_login(manager)
    html = client.get(url).content.decode()
    assert 'value="DACH"' in html and 'value="DE"' in html
    response = client.post(
        url,
        form_data(other_sales_team, name="DACH (West)", priority="5", is_active=None),
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.name, existing.team, existing.priority) == ("DACH (West)", other_sales_team, 5)
    assert existing.countries == ["DE", "AT", "CH"]
    assert not existing.is_active


def test_a_team_nobody_can_take_leads_from_is_saved_with_a_warning(
    client, manager, other_sales_team
):
    make_user("away_rep", Role.SALES, other_sales_team, is_away=True)
    client.force_login(manager)
    response = client.post(NEW, form_data(other_sales_team), follow=True)
    assert RoutingRule.objects.filter(team=other_sales_team).exists()
    assert "Sales West has no active sales rep who is not away" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Give the rule a name"),
        ({"name": "x" * 121}, "name", "At most 120 characters (this one has 121)."),
        ({"team": ""}, "team", "Choose the sales team that gets the leads."),
        ({"team": "987654"}, "team", "Choose one of the sales teams listed."),
        ({"team": "not-a-number"}, "team", "Choose one of the sales teams listed."),
        ({"team": "99999999999999999999999"}, "team", "Choose one of the sales teams listed."),
        ({"countries": "DE, USA"}, "countries", "“USA” is not a two-letter country code"),
        ({"countries": "D1"}, "countries", "“D1” is not a two-letter country code"),
        ({"countries": "<script>"}, "countries", "&lt;SCRIPT&gt;” is not a two-letter"),
        ({"countries": "A" * 1001}, "countries", "At most 1000 characters of country codes."),
        ({"priority": "-1"}, "priority", "Give a whole number from 0 to 1,000,000."),
        ({"priority": "10000000000000"}, "priority", "Give a whole number from 0 to 1,000,000."),
        ({"priority": "ten"}, "priority", "Give a whole number, e.g. 10."),
        ({"product": "987654"}, "product", "Choose one of the products listed, or any product."),
        ({"persona": "<b>x</b>"}, "persona", "Choose one of the personas listed, or any persona."),
    ],
)
def test_bad_input_is_refused_with_a_message_on_its_field(
    client, manager, sales_team, overrides, field, message
):
    client.force_login(manager)
    response = client.post(NEW, form_data(sales_team, **overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'id="error_1_id_{field}"' in html  # crispy's message under that very field
    assert not RoutingRule.objects.exists()


def test_a_marketing_team_a_retired_persona_and_a_product_off_sale_are_refused(
    client, manager, sales_team, marketing_team
):
    retired = PersonaFactory(name="Old buyer", status=Persona.Status.RETIRED)
    off_sale = ProductFactory(name="Legacy", is_active=False)
    client.force_login(manager)
    for overrides, message in (
        ({"team": str(marketing_team.pk)}, "Choose one of the sales teams listed."),
        ({"persona": str(retired.pk)}, "Choose one of the personas listed"),
        ({"product": str(off_sale.pk)}, "Choose one of the products listed"),
    ):
        response = client.post(NEW, form_data(sales_team, **overrides))
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_the_service_refuses_what_the_form_cannot_offer(sales_team, marketing_team):
    retired = PersonaFactory(name="Old buyer", status=Persona.Status.RETIRED)
    with pytest.raises(ValidationError) as refused:
        routing_rule_create(
            name=" ", team=marketing_team, persona=retired, countries=["DE", "Germany"]
        )
    assert refused.value.message_dict == {
        "name": ["Give the rule a name, e.g. “DACH enterprise”."],
        "team": ["Marketing is a marketing team; routing gives leads to sales teams."],
        "persona": ["Old buyer is retired; choose a draft or active persona."],
        "countries": ["“GERMANY” is not a two-letter country code (e.g. DE, US)."],
    }
    assert routing_rule_create(name="Any", team=sales_team, countries=[]).priority == 10


def test_a_rule_may_keep_the_retired_persona_it_already_has(client, manager, sales_team):
    persona = PersonaFactory(name="Old buyer")
    existing = rule(sales_team, "Old buyers", persona=persona)
    Persona.objects.filter(pk=persona.pk).update(status=Persona.Status.RETIRED)
    client.force_login(manager)
    response = client.post(
        reverse("leads:routing_rule_edit", args=[existing.pk]),
        form_data(sales_team, name="Old buyers (renamed)", persona=str(persona.pk)),
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.name, existing.persona_id) == ("Old buyers (renamed)", persona.pk)


# -- delete -------------------------------------------------------------------------------------


def test_deleting_asks_first_and_keeps_the_history_of_what_the_rule_routed(
    client, manager, sales_team, rep
):
    doomed = rule(sales_team, "Doomed")
    lead = LeadFactory(owner=rep)
    RoutingAssignment.objects.create(
        lead=lead,
        owner=rep,
        team=sales_team,
        rule=doomed,
        reason="Routed by rule",
        at=timezone.now(),
    )
    url = reverse("leads:routing_rule_delete", args=[doomed.pk])
    client.force_login(manager)
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Delete the routing rule “Doomed”?" in confirm.content.decode()
    assert RoutingRule.objects.filter(pk=doomed.pk).exists()  # asking deletes nothing
    response = client.post(url)
    assert response.status_code == 302
    assert not RoutingRule.objects.filter(pk=doomed.pk).exists()
    assignment = RoutingAssignment.objects.get(lead=lead)
    assert (assignment.rule_id, assignment.reason) == (None, "Routed by rule")
    lead.refresh_from_db()
    assert lead.owner == rep


# -- reorder ------------------------------------------------------------------------------------


def test_moving_a_rule_up_makes_routing_try_it_first(
    client, manager, sales_team, other_sales_team, present_rep
):
    make_user("west_rep", Role.SALES, other_sales_team)
    everyone = rule(sales_team, "Everyone", priority=10)
    germany = rule(other_sales_team, "Germany", priority=10, countries=["DE"])
    german = lead_in("DE")
    assert leads_route([german])[german["id"]].rule_id == everyone.pk
    client.force_login(manager)
    url = reverse("leads:routing_rule_move", args=[germany.pk])
    response = client.post(url, {"direction": "up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the table alone, for htmx
    assert names_in_the_list(html, [everyone, germany]) == ["Germany", "Everyone"]
    assert leads_route([lead_in("DE")]).popitem()[1].rule_id == germany.pk
    assert list(RoutingRule.objects.values_list("name", "priority")) == [
        ("Germany", 10),
        ("Everyone", 20),
    ]
    # Already first: nothing moves. Without htmx, back to the list.
    response = client.post(url, {"direction": "up"})
    assert response.status_code == 302
    assert RoutingRule.objects.first() == germany
    response = client.post(
        reverse("leads:routing_rule_move", args=[everyone.pk]), {"direction": "down"}
    )
    assert RoutingRule.objects.first() == germany


@pytest.mark.parametrize("direction", ["", "sideways", "<script>", "up" * 1000])
def test_a_move_that_is_neither_up_nor_down_is_a_400(client, manager, sales_team, direction):
    first = rule(sales_team, "First", priority=10)
    second = rule(sales_team, "Second", priority=20)
    client.force_login(manager)
    response = client.post(
        reverse("leads:routing_rule_move", args=[second.pk]), {"direction": direction}
    )
    assert response.status_code == 400
    assert "Move a rule up or down." in response.content.decode()
    assert list(RoutingRule.objects.all()) == [first, second]


def test_moving_is_a_post(client, manager, sales_team):
    existing = rule(sales_team)
    client.force_login(manager)
    url = reverse("leads:routing_rule_move", args=[existing.pk])
    assert client.get(url, {"direction": "up"}).status_code == 405


def test_the_team_choices_are_sales_teams(client, manager, sales_team, marketing_team):
    client.force_login(manager)
    html = client.get(NEW).content.decode()
    assert f'<option value="{sales_team.pk}">Sales East</option>' in html
    assert f'value="{marketing_team.pk}"' not in html
    assert Team.objects.count() == 2
