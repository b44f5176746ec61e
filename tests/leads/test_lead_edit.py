"""The lead edit page (and PATCH): who may edit which lead, what is saved, plain messages
for bad and hostile input; and the rule that a lead becomes a customer only with an amount,
through the service, the page's move form and the API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import DomainError
from leads import events as topics
from leads.models import Lead, StageTransition
from leads.services import lead_transition, lead_update
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory
from tests.personas.factories import PersonaFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def management(total: int, initial: int = 0) -> dict:
    return {
        "attributes-TOTAL_FORMS": str(total),
        "attributes-INITIAL_FORMS": str(initial),
        "attributes-MIN_NUM_FORMS": "0",
        "attributes-MAX_NUM_FORMS": "50",
    }


def form_data(lead: Lead, rows: list[tuple] = (), **overrides) -> dict:
    """What the edit page posts: the lead's current values, `overrides`, attribute rows."""
    data = {
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "title": lead.title,
        "phone": lead.phone,
        "country": lead.country,
        "source": lead.source,
        "campaign": lead.campaign_id or "",
        "product": lead.product_id or "",
        "persona": lead.persona_id or "",
        "amount": "" if lead.amount is None else str(lead.amount),
        **management(len(rows)),
    }
    for index, row in enumerate(rows):
        key, value, kind, *remove = row
        data[f"attributes-{index}-key"] = key
        data[f"attributes-{index}-value"] = value
        data[f"attributes-{index}-kind"] = kind
        if remove:
            data[f"attributes-{index}-DELETE"] = "on"
    return {**data, **{name: value for name, value in overrides.items()}}


def edit_url(lead: Lead) -> str:
    return reverse("leads:edit", args=[lead.pk])


# -- who may edit which lead ----------------------------------------------------------------------

# relation: (sees the lead, may edit it)
TABLE = {
    "manager": (True, True),
    "marketer": (True, True),
    "owner": (True, True),
    "team, unowned": (True, False),
    "teammate": (True, False),
    "other team": (False, False),
}


@pytest.fixture
def cases(rep, other_rep, outsider_rep, marketer, manager, sales_team):
    owned = LeadFactory(owner=rep, team=sales_team, stage="sql", company="Acme")
    unowned = LeadFactory(owner=None, team=sales_team, stage="mql", company="Acme")
    return {
        "manager": (manager, owned),
        "marketer": (marketer, owned),
        "owner": (rep, owned),
        "team, unowned": (other_rep, unowned),
        "teammate": (other_rep, owned),
        "other team": (outsider_rep, owned),
    }


def _expect(response, allowed: bool, visible: bool, ok=(200, 302)):
    if not visible:
        assert response.status_code == 404, response.content[:200]
    elif allowed:
        assert response.status_code in ok, response.content[:300]
    else:
        assert response.status_code == 403, response.content[:200]


@pytest.mark.parametrize("relation", list(TABLE))
def test_the_edit_page_follows_the_table(client, cases, relation):
    user, lead = cases[relation]
    visible, allowed = TABLE[relation]
    client.force_login(user)
    _expect(client.get(edit_url(lead)), allowed, visible)
    _expect(client.post(edit_url(lead), form_data(lead, company="Changed")), allowed, visible)
    assert (Lead.objects.get(pk=lead.pk).company == "Changed") is allowed
    if visible:
        page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert ('data-testid="lead-edit-link"' in page) is allowed


@pytest.mark.parametrize("relation", list(TABLE))
def test_patch_in_the_api_follows_the_same_table(api_as, cases, relation):
    user, lead = cases[relation]
    visible, allowed = TABLE[relation]
    response = api_as(user).patch(
        f"/api/v1/leads/{lead.pk}/", {"company": "Via API"}, format="json"
    )
    _expect(response, allowed, visible, ok=(200,))
    assert (Lead.objects.get(pk=lead.pk).company == "Via API") is allowed


# -- what is saved --------------------------------------------------------------------------------


def test_an_owner_edits_contact_fields_amount_persona_product_and_campaign(client, rep, published):
    lead = LeadFactory(owner=rep, attributes={"industry": "software"})
    persona, product, campaign = PersonaFactory(), ProductFactory(), CampaignFactory()
    changed = published(topics.CHANGED)
    client.force_login(rep)

    response = client.post(
        edit_url(lead),
        form_data(
            lead,
            rows=[("industry", "software", "text"), ("company_size", "250", "number")],
            first_name="Grace",
            email="GRACE@Example.com",
            country="de",
            amount="1200.50",
            persona=persona.pk,
            product=product.pk,
            campaign=campaign.pk,
        ),
    )

    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    lead.refresh_from_db()
    assert (lead.first_name, lead.email, lead.country) == ("Grace", "grace@example.com", "DE")
    assert lead.amount == Decimal("1200.50")
    assert (lead.persona, lead.product, lead.campaign) == (persona, product, campaign)
    assert lead.attributes == {"industry": "software", "company_size": 250}
    # The change event names what changed, nothing else.
    assert sorted(changed[-1].payload["fields"]) == sorted(
        [
            "first_name",
            "email",
            "country",
            "amount",
            "persona_id",
            "product_id",
            "campaign_id",
            "attributes",
        ]
    )


def test_saving_without_changes_writes_nothing(client, rep, published):
    lead = LeadFactory(owner=rep, attributes={"industry": "software"})
    changed = published(topics.CHANGED)
    client.force_login(rep)
    rows = [("industry", "software", "text")]
    response = client.post(edit_url(lead), form_data(lead, rows=rows))
    assert response.status_code == 302
    assert changed == []


def test_attribute_rows_are_removed_and_other_values_are_kept(client, marketer):
    lead = LeadFactory(
        attributes={"industry": "software", "size": 80, "tags": ["a", "b"], "vip": True}
    )
    client.force_login(marketer)
    page = client.get(edit_url(lead))
    assert page.context["kept"] == {"tags": ["a", "b"], "vip": True}
    initial = [form.initial for form in page.context["attributes"].initial_forms]
    assert sorted(initial, key=lambda row: row["key"]) == [
        {"key": "industry", "value": "software", "kind": "text"},
        {"key": "size", "value": "80", "kind": "number"},
    ]

    client.post(
        edit_url(lead),
        form_data(
            lead,
            rows=[
                ("industry", "software", "text", "remove"),
                ("size", "95.5", "number"),
                ("", "", "text"),
            ],
        ),
    )

    lead.refresh_from_db()
    assert lead.attributes == {"size": 95.5, "tags": ["a", "b"], "vip": True}


@pytest.mark.parametrize(
    ("rows", "field", "message"),
    [
        ([("", "orphan", "text")], "key", "Give this value a name."),
        ([("industry", "", "text")], "value", "Give a value, or tick “Remove”."),
        ([("size", "many", "number")], "value", None),
        ([("size", "1e400", "number")], "value", None),
        ([("size", "NaN", "number")], "value", None),
        ([("size", "9" * 30, "number")], "value", "This number is too large."),
        ([("k" * 61, "v", "text")], "key", None),
        ([("k", "v" * 501, "text")], "value", None),
        ([("k", "v", "spreadsheet")], "kind", None),
        ([("tags", "x", "text")], "key", "“tags” holds a value set through the API; it is kept."),
    ],
)
def test_bad_attribute_rows_get_a_message_on_the_row(client, marketer, rows, field, message):
    lead = LeadFactory(attributes={"tags": ["kept"]})
    client.force_login(marketer)
    response = client.post(edit_url(lead), form_data(lead, rows=rows))
    assert response.status_code == 400
    errors = response.context["attributes"].forms[0].errors.get(field)
    assert errors and (message is None or errors == [message])
    assert Lead.objects.get(pk=lead.pk).attributes == {"tags": ["kept"]}


def test_two_rows_with_one_name_are_refused(client, marketer):
    lead = LeadFactory(attributes={})
    client.force_login(marketer)
    response = client.post(
        edit_url(lead), form_data(lead, rows=[("size", "1", "number"), ("size", "2", "number")])
    )
    assert response.status_code == 400
    assert response.context["attributes"].forms[1].errors["key"] == ["“size” is already in row 1."]


@pytest.mark.parametrize(
    "tampered",
    [
        {"attributes-TOTAL_FORMS": "100000"},
        {"attributes-TOTAL_FORMS": "abc"},
        {"attributes-TOTAL_FORMS": ""},
    ],
)
def test_a_tampered_row_count_is_refused_without_a_500(client, marketer, tampered):
    lead = LeadFactory()
    client.force_login(marketer)
    data = {**form_data(lead, rows=[("a", "1", "number")]), **tampered}
    response = client.post(edit_url(lead), data)
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).attributes == {}


def test_more_than_fifty_attributes_are_refused(client, marketer):
    lead = LeadFactory()
    client.force_login(marketer)
    rows = [(f"k{index}", "v", "text") for index in range(51)]
    response = client.post(edit_url(lead), form_data(lead, rows=rows))
    assert response.status_code == 400
    assert response.context["attributes"].non_form_errors()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("country", "ZZZ"),
        ("country", "1A"),
        ("source", "bad source!"),
        ("amount", "-5"),
        ("amount", "1e20"),
        ("amount", "twelve"),
        ("campaign", "999999"),
        ("persona", "abc"),
        ("phone", "9" * 41),
    ],
)
def test_bad_lead_input_is_a_message_on_its_field(client, marketer, field, value):
    lead = LeadFactory(company="Acme")
    client.force_login(marketer)
    response = client.post(edit_url(lead), form_data(lead, **{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Lead.objects.get(pk=lead.pk).company == "Acme"


def test_a_nul_character_is_refused_before_any_field(client, marketer):
    lead = LeadFactory(company="Acme")
    client.force_login(marketer)
    for data in (
        form_data(lead, company="nul\x00"),
        form_data(lead, rows=[("k\x00", "v", "text")]),
    ):
        assert client.post(edit_url(lead), data).status_code == 400
    assert Lead.objects.get(pk=lead.pk).company == "Acme"


def test_hostile_text_is_saved_as_text_and_shown_escaped(client, marketer):
    lead = LeadFactory()
    client.force_login(marketer)
    client.post(edit_url(lead), form_data(lead, company=HOSTILE, rows=[("note", HOSTILE, "text")]))
    lead.refresh_from_db()
    assert lead.company == HOSTILE and lead.attributes == {"note": HOSTILE}
    for url in (lead.get_absolute_url(), edit_url(lead)):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_a_customer_keeps_its_amount(client, api_as, marketer):
    lead = LeadFactory(external_id="won-1", amount=Decimal("500"))
    lead_transition(lead=lead, to_stage="customer")
    lead.refresh_from_db()
    client.force_login(marketer)

    page = client.post(edit_url(lead), form_data(lead, amount=""))
    assert page.status_code == 400
    assert page.context["form"].errors["amount"] == [
        "A customer's amount cannot be removed: won revenue counts it."
    ]
    patch = api_as(marketer).patch(f"/api/v1/leads/{lead.pk}/", {"amount": None}, format="json")
    assert patch.status_code == 400 and "amount" in patch.json()["errors"]
    bulk = api_as(marketer).post(
        "/api/v1/leads/bulk/",
        [{"external_id": "won-1", "email": lead.email, "amount": None}],
        format="json",
    )
    assert bulk.status_code == 207 and "amount" in bulk.json()["errors"][0]["errors"]
    assert Lead.objects.get(pk=lead.pk).amount == Decimal("500")
    # Correcting the amount is fine.
    lead_update(lead=lead, data={"amount": "650"}, actor=marketer)
    assert Lead.objects.get(pk=lead.pk).amount == Decimal("650")


# -- won needs an amount: the service -----------------------------------------------------------


def opportunity(**fields) -> Lead:
    lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=3), **fields)
    lead_transition(lead=lead, to_stage="opportunity", reason="qualified")
    return lead


def test_the_service_refuses_a_customer_without_an_amount():
    lead = opportunity()
    with pytest.raises(DomainError) as refused:
        lead_transition(lead=lead, to_stage="customer")
    assert refused.value.field == "amount"
    assert "amount" in refused.value.message
    lead.refresh_from_db()
    assert lead.stage == "opportunity" and lead.customer_at is None
    assert not StageTransition.objects.filter(lead=lead, to_stage="customer").exists()


def test_the_amount_given_with_the_move_is_saved_on_the_lead(published):
    lead = opportunity()
    changed = published(topics.CHANGED)
    lead_transition(lead=lead, to_stage="customer", amount=Decimal("1800"))
    lead.refresh_from_db()
    assert (lead.stage, lead.amount) == ("customer", Decimal("1800"))
    assert changed[-1].payload == {"lead": lead.pk, "fields": ["amount"]}


def test_a_lead_with_an_amount_becomes_a_customer_as_before():
    lead = opportunity(amount=Decimal("900"))
    lead_transition(lead=lead, to_stage="customer")
    lead.refresh_from_db()
    assert (lead.stage, lead.amount) == ("customer", Decimal("900"))


@pytest.mark.parametrize(
    ("existing", "to_stage", "amount"),
    [
        (None, "customer", Decimal("0")),  # zero is no deal
        (Decimal("0"), "customer", None),  # a zero amount on the lead counts as none
        (None, "lost", Decimal("100")),  # an amount goes with a move to customer only
    ],
)
def test_the_service_refuses_amounts_that_make_no_won_revenue(existing, to_stage, amount):
    lead = opportunity(amount=existing)
    with pytest.raises(DomainError) as refused:
        lead_transition(lead=lead, to_stage=to_stage, reason="x", amount=amount)
    assert refused.value.field == "amount"
    assert Lead.objects.get(pk=lead.pk).stage == "opportunity"


# -- won needs an amount: the page --------------------------------------------------------------


def test_the_move_form_asks_for_the_amount_only_when_the_lead_has_none(client, marketer):
    without = opportunity()
    with_amount = opportunity(amount=Decimal("100"))
    client.force_login(marketer)
    form = client.get(reverse("leads:detail", args=[without.pk])).context["transition_form"]
    assert "amount" in form.fields
    html = client.get(reverse("leads:detail", args=[without.pk])).content.decode()
    assert 'data-shown-with="to_stage=customer"' in html
    other = client.get(reverse("leads:detail", args=[with_amount.pk])).context["transition_form"]
    assert "amount" not in other.fields


def test_moving_to_customer_on_the_page_needs_the_amount(client, marketer):
    lead = opportunity()
    client.force_login(marketer)
    url = reverse("leads:transition", args=[lead.pk])

    refused = client.post(url, {"to_stage": "customer", "reason": "", "amount": ""})
    assert refused.status_code == 400
    assert refused.context["transition_form"].errors["amount"] == [
        "Give the deal's amount: won revenue counts it."
    ]
    for bad in ("0", "-3", "abc", "1e30"):
        response = client.post(url, {"to_stage": "customer", "amount": bad})
        assert response.status_code == 400, bad
        assert response.context["transition_form"].errors["amount"], bad
    assert Lead.objects.get(pk=lead.pk).stage == "opportunity"

    moved = client.post(url, {"to_stage": "customer", "reason": "", "amount": "2400"})
    assert moved.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.amount) == ("customer", Decimal("2400.00"))


def test_an_amount_typed_for_another_stage_is_not_saved(client, marketer):
    lead = opportunity()
    client.force_login(marketer)
    client.post(
        reverse("leads:transition", args=[lead.pk]),
        {"to_stage": "lost", "reason": "budget", "amount": "500"},
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.amount) == ("lost", None)


def test_htmx_shows_the_amount_message_in_place(client, marketer):
    lead = opportunity()
    client.force_login(marketer)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]),
        {"to_stage": "customer", "amount": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Give the deal&#x27;s amount" in response.content.decode()


# -- won needs an amount: the API ---------------------------------------------------------------


def test_the_api_answers_400_on_amount_when_a_customer_has_none(api_as, marketer):
    lead = opportunity()
    client = api_as(marketer)
    url = f"/api/v1/leads/{lead.pk}/transition/"

    refused = client.post(url, {"to": "customer"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["amount"]
    for bad in (-1, "abc", True, {"x": 1}, "1e30", 0):
        response = client.post(url, {"to": "customer", "amount": bad}, format="json")
        assert response.status_code == 400, bad
        assert "amount" in response.json()["errors"], bad
    assert Lead.objects.get(pk=lead.pk).stage == "opportunity"

    moved = client.post(url, {"to": "customer", "amount": "3100.00"}, format="json")
    assert moved.status_code == 201
    assert Decimal(str(moved.json()["lead"]["amount"])) == Decimal("3100")
    assert moved.json()["lead"]["stage"] == "customer"


def test_the_api_takes_a_customer_with_an_amount_already_set(api_as, marketer):
    lead = opportunity(amount=Decimal("50"))
    response = api_as(marketer).post(
        f"/api/v1/leads/{lead.pk}/transition/", {"to": "customer"}, format="json"
    )
    assert response.status_code == 201
    assert Decimal(str(response.json()["lead"]["amount"])) == Decimal("50")


def test_a_back_filled_history_names_the_amount_of_its_win(api_as, manager):
    lead = LeadFactory(created_at=timezone.now() - dt.timedelta(days=10))
    at = (timezone.now() - dt.timedelta(days=5)).isoformat()
    later = (timezone.now() - dt.timedelta(days=4)).isoformat()
    client = api_as(manager)
    url = f"/api/v1/leads/{lead.pk}/history/"
    steps = [{"type": "transition", "to": "opportunity", "at": at}]

    refused = client.post(
        url,
        {"steps": [*steps, {"type": "transition", "to": "customer", "at": later}]},
        format="json",
    )
    assert refused.status_code == 400
    assert "steps.1.amount" in refused.json()["errors"]
    assert not StageTransition.objects.filter(lead=lead).exists()

    done = client.post(
        url,
        {"steps": [*steps, {"type": "transition", "to": "customer", "at": later, "amount": 700}]},
        format="json",
    )
    assert done.status_code == 201
    assert done.json()["lead"]["stage"] == "customer"
    assert Decimal(str(done.json()["lead"]["amount"])) == Decimal("700")
