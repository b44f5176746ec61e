"""The rest of the leads app's policy, walked through the API and the pages alike
(tests/policy.py): campaigns and products, qualification definitions (draft, submit,
activate, send back), routing rules (pages only: no API), and the CSV exports, which hold
only the leads their reader may see (leads/selectors.py: `leads_visible_to`)."""

import csv
import io
import json

import pytest

from accounts.models import Role
from leads.models import Campaign, LeadImport, Product, QualificationDefinition, RoutingRule
from leads.services import definition_create, definition_submit
from tests.conftest import make_user
from tests.leads.factories import CampaignFactory, LeadFactory, ProductFactory
from tests.leads.helpers import MQL_RULES
from tests.policy import expect

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(rep, marketer, manager, admin_user):
    return {
        "rep": rep,
        "marketer": marketer,
        "manager": manager,
        "admin": admin_user,
        "Integrations only": make_user("operator", Role.INTEGRATIONS),
    }


# -- campaigns and products ---------------------------------------------------------------------

# role: (reads campaigns and products, manages them: create, edit, archive, delete)
CATALOG = {
    "rep": (True, False),
    "marketer": (True, True),
    "manager": (True, True),
    "admin": (True, True),
    "Integrations only": (False, False),
}


@pytest.mark.parametrize("role", list(CATALOG))
def test_the_catalog_api_follows_the_table(api_as, people, role):
    reads, manages = CATALOG[role]
    campaign = CampaignFactory(name="Spring webinar")
    product = ProductFactory(name="Spare", code="spare")
    client = api_as(people[role])
    for url in ("/api/v1/campaigns/", f"/api/v1/campaigns/{campaign.pk}/"):
        expect(client.get(url), reads)
    for url in ("/api/v1/products/", f"/api/v1/products/{product.pk}/"):
        expect(client.get(url), reads)
    body = {"name": "Autumn", "channel": "webinar", "source": "webinar"}
    expect(client.post("/api/v1/campaigns/", body, format="json"), manages)
    assert Campaign.objects.filter(name="Autumn").exists() == manages
    url = f"/api/v1/campaigns/{campaign.pk}/"
    expect(client.patch(url, {"name": "Spring webinar, EU"}, format="json"), manages)
    campaign.refresh_from_db()
    assert (campaign.name == "Spring webinar, EU") == manages
    expect(client.post("/api/v1/products/", {"name": "CRM", "code": "crm"}, format="json"), manages)
    assert Product.objects.filter(code="crm").exists() == manages
    url = f"/api/v1/products/{product.pk}/"
    expect(client.patch(url, {"is_active": False}, format="json"), manages)
    expect(client.delete(url), manages)
    assert Product.objects.filter(pk=product.pk).exists() != manages


@pytest.mark.parametrize("role", list(CATALOG))
def test_the_catalog_pages_follow_the_table(client, people, role):
    reads, manages = CATALOG[role]
    campaign = CampaignFactory(name="Spring webinar")
    product = ProductFactory(name="Spare", code="spare")
    client.force_login(people[role])
    for url in (
        "/leads/campaigns/",
        f"/leads/campaigns/{campaign.pk}/",
        "/leads/products/",
        f"/leads/products/{product.pk}/",
    ):
        expect(client.get(url), reads)
    campaign_form = {
        "name": "Autumn",
        "channel": "webinar",
        "source": "webinar",
        "starts_on": "2026-09-01",
    }
    expect(client.get("/leads/campaigns/new/"), manages)
    expect(client.post("/leads/campaigns/new/", campaign_form), manages, ok=(302,))
    assert Campaign.objects.filter(name="Autumn").exists() == manages
    edit = f"/leads/campaigns/{campaign.pk}/edit/"
    expect(client.get(edit), manages)
    renamed = {**campaign_form, "name": "Spring webinar, EU"}
    expect(client.post(edit, renamed), manages, ok=(302,))
    expect(client.post(f"/leads/campaigns/{campaign.pk}/archive/"), manages, ok=(302,))
    campaign.refresh_from_db()
    assert (campaign.name, campaign.archived_at is not None) == (
        ("Spring webinar, EU", True) if manages else ("Spring webinar", False)
    )
    expect(client.get("/leads/products/new/"), manages)
    expect(client.post("/leads/products/new/", {"name": "CRM", "code": "crm"}), manages, ok=(302,))
    assert Product.objects.filter(code="crm").exists() == manages
    expect(client.get(f"/leads/products/{product.pk}/edit/"), manages)
    expect(client.post(f"/leads/products/{product.pk}/archive/"), manages, ok=(302,))
    expect(client.post(f"/leads/products/{product.pk}/delete/"), manages, ok=(302,))
    assert Product.objects.filter(pk=product.pk).exists() != manages


# -- qualification definitions ------------------------------------------------------------------

# role: (reads versions, drafts: creates, edits and previews drafts, submits a draft,
#        reviews: activates a version or sends a submitted one back)
DEFINITIONS = {
    "rep": (True, False, False, False),
    "marketer": (True, True, True, False),
    "manager": (True, True, True, True),
    "admin": (True, True, True, True),
}


@pytest.fixture
def drafts(marketer):
    def draft(name, submitted=False):
        version = definition_create(stage="mql", name=name, rules=MQL_RULES, actor=marketer)
        if submitted:
            definition_submit(definition=version, actor=marketer)
        return version

    return draft("Draft"), draft("Submitted", submitted=True), draft("To activate")


def _status(definition) -> str:
    definition.refresh_from_db()
    return definition.status


@pytest.mark.parametrize("role", list(DEFINITIONS))
def test_the_definitions_api_follows_the_table(api_as, people, drafts, role):
    reads, drafts_them, submits, reviews = DEFINITIONS[role]
    draft, submitted, to_activate = drafts
    client = api_as(people[role])
    expect(client.get("/api/v1/definitions/"), reads)
    expect(client.get(f"/api/v1/definitions/{draft.pk}/"), reads)
    body = {"stage": "mql", "name": "Spring", "rules": MQL_RULES}
    expect(client.post("/api/v1/definitions/", body, format="json"), drafts_them)
    assert QualificationDefinition.objects.filter(name="Spring").exists() == drafts_them
    url = f"/api/v1/definitions/{draft.pk}/"
    expect(client.patch(url, {"name": "Tuned"}, format="json"), drafts_them)
    preview = {"stage": "mql", "rules": MQL_RULES}
    expect(client.post("/api/v1/definitions/preview/", preview, format="json"), drafts_them)
    expect(client.post(f"{url}submit/"), submits)
    assert (_status(draft) == "submitted") == submits
    sent_back = client.post(
        f"/api/v1/definitions/{submitted.pk}/send-back/", {"comment": "Tighter."}, format="json"
    )
    expect(sent_back, reviews)
    assert (_status(submitted) == "draft") == reviews
    expect(client.post(f"/api/v1/definitions/{to_activate.pk}/activate/"), reviews)
    assert (_status(to_activate) == "active") == reviews


@pytest.mark.parametrize("role", list(DEFINITIONS))
def test_the_definition_pages_follow_the_table(client, people, drafts, role):
    reads, drafts_them, submits, reviews = DEFINITIONS[role]
    draft, submitted, to_activate = drafts
    client.force_login(people[role])
    expect(client.get("/leads/definitions/"), reads)
    detail = f"/leads/definitions/{draft.pk}/"
    page = client.get(detail)
    expect(page, reads)
    html = page.content.decode()
    assert ('data-testid="definition-form"' in html) == drafts_them
    assert (f'action="{detail}submit/"' in html) == submits
    expect(client.get("/leads/definitions/new/"), drafts_them)
    form = {"stage": "mql", "name": "Spring", "description": "", "rules": json.dumps(MQL_RULES)}
    expect(client.post("/leads/definitions/new/", form), drafts_them, ok=(302,))
    assert QualificationDefinition.objects.filter(name="Spring").exists() == drafts_them
    tuned = {"name": "Tuned", "description": "", "rules": json.dumps(MQL_RULES)}
    expect(client.post(detail, tuned), drafts_them, ok=(302,))
    preview = {"stage": "mql", "rules": json.dumps(MQL_RULES)}
    expect(client.post("/leads/definitions/preview/", preview), drafts_them, ok=(200,))
    expect(client.post(f"{detail}submit/"), submits, ok=(302,))
    assert (_status(draft) == "submitted") == submits
    sent_back = client.post(
        f"/leads/definitions/{submitted.pk}/send-back/", {"comment": "Tighter."}
    )
    expect(sent_back, reviews, ok=(302,))
    assert (_status(submitted) == "draft") == reviews
    expect(client.post(f"/leads/definitions/{to_activate.pk}/activate/"), reviews, ok=(302,))
    assert (_status(to_activate) == "active") == reviews


# -- routing rules (pages only) -----------------------------------------------------------------

# role: manages routing rules (sees the list, creates, edits, moves, deletes)
ROUTING = {"rep": False, "marketer": False, "manager": True, "admin": True}


@pytest.mark.parametrize("role", list(ROUTING))
def test_the_routing_pages_follow_the_table(client, people, sales_team, role):
    manages = ROUTING[role]
    first = RoutingRule.objects.create(name="Everything", team=sales_team, priority=200)
    second = RoutingRule.objects.create(name="DACH", team=sales_team, priority=100)
    client.force_login(people[role])
    expect(client.get("/leads/routing/"), manages)
    assert ('href="/leads/routing/"' in client.get("/leads/").content.decode()) == manages
    expect(client.get("/leads/routing/new/"), manages)
    form = {"name": "Nordics", "team": str(sales_team.pk), "countries": "se, no", "is_active": "on"}
    expect(client.post("/leads/routing/new/", form), manages, ok=(302,))
    assert RoutingRule.objects.filter(name="Nordics").exists() == manages
    edit = f"/leads/routing/{second.pk}/edit/"
    expect(client.get(edit), manages)
    expect(client.post(edit, {**form, "name": "DACH+"}), manages, ok=(302,))
    expect(client.post(f"/leads/routing/{first.pk}/move/", {"direction": "up"}), manages)
    expect(client.get(f"/leads/routing/{first.pk}/delete/"), manages)
    expect(client.post(f"/leads/routing/{first.pk}/delete/"), manages, ok=(302,))
    assert RoutingRule.objects.filter(pk=first.pk).exists() != manages


# -- exports: the leads a CSV holds are the leads its reader may see ----------------------------

# relation of the reader to a lead: (the lead is in `GET leads/` and in the CSV export)
EXPORTS = {
    "manager": True,
    "marketer": True,
    "owner": True,
    "teammate": True,
    "other team": False,
}


@pytest.fixture
def export_cases(rep, other_rep, outsider_rep, marketer, manager, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team, email="ada@example.com")
    LeadFactory(owner=outsider_rep, email="outsider@example.com")
    users = {
        "manager": manager,
        "marketer": marketer,
        "owner": rep,
        "teammate": other_rep,
        "other team": outsider_rep,
    }
    return {relation: (user, lead) for relation, user in users.items()}


def _exported_ids(response) -> set[int]:
    text = b"".join(response.streaming_content).decode()
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("relation", list(EXPORTS))
def test_the_lead_export_holds_what_the_api_lists(client, api_as, export_cases, relation):
    user, lead = export_cases[relation]
    listed = api_as(user).get("/api/v1/leads/?page_size=100")
    api_ids = {row["id"] for row in listed.json()["results"]}
    assert (lead.pk in api_ids) == EXPORTS[relation]
    client.force_login(user)
    exported = client.get("/leads/export.csv")
    assert exported.status_code == 200
    assert _exported_ids(exported) == api_ids
    filtered = client.get(f"/leads/export.csv?owner={lead.owner_id}")
    assert (lead.pk in _exported_ids(filtered)) == EXPORTS[relation]


# who may see an import and download its rejected rows: (sees it)
IMPORTS = {"who uploaded it": True, "a manager": True, "another marketer": False, "a rep": None}


@pytest.mark.parametrize("relation", list(IMPORTS))
def test_an_import_and_its_rejected_rows_are_its_uploaders_and_the_managers(
    client, marketer, manager, rep, relation
):
    lead_import = LeadImport.objects.create(
        created_by=marketer, file_name="fair.csv", content="email\nnot-an-email\n"
    )
    users = {
        "who uploaded it": marketer,
        "a manager": manager,
        "another marketer": make_user("marketer_two", Role.MARKETING),
        "a rep": rep,
    }
    client.force_login(users[relation])
    sees = IMPORTS[relation]
    # None: the role does not import at all (403); False: not theirs to see (404).
    for url in (
        f"/leads/imports/{lead_import.pk}/",
        f"/leads/imports/{lead_import.pk}/rejected.csv",
    ):
        expect(client.get(url), bool(sees), visible=sees is not False)
