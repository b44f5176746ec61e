"""A CSV column can be kept as a named lead attribute: the mapping step offers a key made
from the header ("Company size" → company_size), editable and checked; it previews the
first rows as they would be stored, as text; the import stores the values under the key,
where a fit rule on that key then finds them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from core.errors import DomainError
from leads import imports
from leads.models import Lead, LeadImport
from tests.conftest import make_user
from tests.leads.helpers import active_definition

pytestmark = pytest.mark.django_db

FILE = (
    "Email,First name,Company size,Industry,Größe der Firma,###\n"
    "ada@example.com,Ada,120,software,groß,x\n"
    "grace@example.com,Grace,20,navy,klein,y\n"
)
# Email and First name are recognised from their titles; the others wait for a choice.
AS_ATTRIBUTES = {
    "col_0": "email",
    "col_1": "first_name",
    "col_2": "attribute",
    "key_2": "company_size",
    "col_3": "attribute",
    "key_3": "industry",
    "col_4": "",
    "key_4": "grosse_der_firma",
    "col_5": "",
    "key_5": "column_6",
}
FIT_ON_COMPANY_SIZE = {
    "threshold": 100,
    "fit": [
        {"points": 25, "attribute": "company_size", "operator": "gte", "value": 50},
        {"points": 5, "attribute": "industry", "operator": "equals", "value": "software"},
    ],
    "engagement": {"demo_request": 10},
}


def uploaded(client, text: str = FILE) -> LeadImport:
    response = client.post(
        reverse("leads:import_upload"),
        {"file": SimpleUploadedFile("leads.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return LeadImport.objects.latest("id")


def mapping_url(lead_import) -> str:
    return reverse("leads:import_mapping", args=[lead_import.pk])


def imported(client, lead_import, data) -> LeadImport:
    response = client.post(mapping_url(lead_import), data)
    assert response.status_code == 302, response.content.decode()
    return imports.lead_import_run(lead_import_id=lead_import.pk)


# -- the mapping step ---------------------------------------------------------------------------


def test_each_column_may_be_kept_as_an_attribute_under_the_slug_of_its_header(client, marketer):
    client.force_login(marketer)
    html = client.get(mapping_url(uploaded(client))).content.decode()
    assert '<option value="attribute">Attribute, under the key below (for fit rules)' in html
    for index, key in (
        (2, "company_size"),
        (3, "industry"),
        (4, "grosse_der_firma"),
        (5, "column_6"),
    ):
        assert f'name="key_{index}" value="{key}"' in html, key
    assert '<option value="email" selected>' in html


def test_the_suggested_key_never_names_a_lead_field():
    assert imports.attribute_key_suggestion("Company Size (employees)", 0) == (
        "company_size_employees"
    )
    assert imports.attribute_key_suggestion("  ", 3) == "column_4"
    assert imports.attribute_key_suggestion("Title", 0) == "title_value"
    assert imports.attribute_key_suggestion("x" * 100, 0) == "x" * 64
    assert imports.attribute_key_problem(imports.attribute_key_suggestion("Ü" * 70, 0)) is None


def test_importing_stores_the_value_under_the_key_and_a_fit_rule_on_it_matches(client, marketer):
    active_definition("mql", FIT_ON_COMPANY_SIZE)
    client.force_login(marketer)
    lead_import = imported(client, uploaded(client), AS_ATTRIBUTES)
    assert lead_import.status == LeadImport.Status.DONE
    assert lead_import.mapping == {
        "0": "email",
        "1": "first_name",
        "2": "attribute:company_size",
        "3": "attribute:industry",
    }
    ada = Lead.objects.get(email="ada@example.com")
    assert ada.attributes == {"company_size": "120", "industry": "software"}
    assert ada.fit_score == 30
    grace = Lead.objects.get(email="grace@example.com")
    assert grace.attributes == {"company_size": "20", "industry": "navy"}
    assert grace.fit_score == 0


def test_under_the_column_title_no_fit_rule_found_the_value(marketer):
    """What the older "attributes" mapping did (kept for imports queued with it)."""
    active_definition("mql", FIT_ON_COMPANY_SIZE)
    lead_import = imports.lead_import_create(file_name="x.csv", raw=FILE.encode(), actor=marketer)
    imports.lead_import_start(lead_import=lead_import, mapping={"0": "email", "2": "attributes"})
    imports.lead_import_run(lead_import_id=lead_import.pk)
    ada = Lead.objects.get(email="ada@example.com")
    assert ada.attributes == {"Company size": "120"}
    assert ada.fit_score == 0


def test_an_edited_key_is_the_one_stored(client, marketer):
    client.force_login(marketer)
    imported(client, uploaded(client), {**AS_ATTRIBUTES, "key_2": "  employees  "})
    assert Lead.objects.get(email="ada@example.com").attributes == {
        "employees": "120",
        "industry": "software",
    }


def test_the_older_attributes_choice_takes_the_suggested_key(client, marketer):
    client.force_login(marketer)
    data = {key: value for key, value in AS_ATTRIBUTES.items() if not key.startswith("key_")}
    imported(client, uploaded(client), {**data, "col_2": "attributes", "col_3": ""})
    assert Lead.objects.get(email="ada@example.com").attributes == {"company_size": "120"}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Give the attribute a key, e.g. company_size."),
        ("Company Size", "Use lowercase letters, digits and _ only, e.g. company_size."),
        ("company-size", "Use lowercase letters, digits and _ only"),
        ("größe", "Use lowercase letters, digits and _ only"),
        ('"><script>alert(1)</script>', "Use lowercase letters, digits and _ only"),
        ("a" * 65, "At most 64 characters (this key has 65)."),
        ("title", "“title” is a lead field: map the column to Title instead, or give another"),
        ("email_domain", "“email_domain” is read from the email address; give another key."),
        ("industry", "Column “Industry” is kept under industry already; give another key."),
    ],
)
def test_a_bad_key_is_refused_on_its_field(client, marketer, key, message):
    client.force_login(marketer)
    lead_import = uploaded(client)
    response = client.post(
        mapping_url(lead_import), {**AS_ATTRIBUTES, "key_4": key, "col_4": "attribute"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="error_1_id_key_4"' in html
    assert "<script>alert(1)" not in html
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.MAPPING
    assert not Lead.objects.exists()


def test_a_key_is_not_checked_for_a_column_that_is_not_an_attribute(client, marketer):
    client.force_login(marketer)
    lead_import = imported(client, uploaded(client), {**AS_ATTRIBUTES, "key_4": "Not A Key!"})
    assert lead_import.status == LeadImport.Status.DONE


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"0": "email", "2": "attribute:Bad Key"}, "Column “Company size”: Use lowercase"),
        ({"0": "email", "2": "attribute:"}, "Column “Company size”: Give the attribute a key"),
        (
            {"0": "email", "2": "attribute:size", "3": "attribute:size"},
            "Columns “Company size” and “Industry” both fill the attribute size",
        ),
        ({"0": "email", "2": ["attribute:size"]}, "Unknown mapping for column “Company size”."),
    ],
)
def test_the_service_refuses_a_bad_key_whatever_sent_it(marketer, mapping, message):
    lead_import = imports.lead_import_create(file_name="x.csv", raw=FILE.encode(), actor=marketer)
    with pytest.raises(DomainError, match=message):
        imports.lead_import_start(lead_import=lead_import, mapping=mapping)
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.MAPPING


# -- the preview --------------------------------------------------------------------------------

HOSTILE = (
    "E-mail,Country,Notes,Plan\n"
    "ADA@Example.com,de,<script>alert(1)</script>,=cmd|' /C calc'!A0\n"
    "not-an-email,US,<img src=x onerror=alert(2)>,pro\n"
    "c@example.com,gb,,+1+1\n"
    "d@example.com,fr,plain,@SUM(A1)\n"
    "e@example.com,it,fifth,-2\n"
    "sixth@example.com,es,sixth,x\n"
)
HOSTILE_MAPPING = {
    "col_0": "email",
    "col_1": "country",
    "col_2": "attribute",
    "key_2": "notes",
    "col_3": "attribute",
    "key_3": "plan",
}


def test_the_preview_shows_the_first_five_rows_as_stored_and_as_text(client, marketer):
    client.force_login(marketer)
    lead_import = uploaded(client, HOSTILE)
    response = client.post(mapping_url(lead_import), {**HOSTILE_MAPPING, "preview": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="import-preview-row"') == 5
    assert "sixth@example.com" not in html.split('data-testid="import-preview"', 1)[1]
    # Stored the way the import stores them: the email lower-cased, the country upper-cased.
    assert '<td class="text-break">ada@example.com</td>' in html
    assert '<td class="text-break">DE</td>' in html
    # Hostile cells are text, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=cmd|&#x27; /C calc&#x27;!A0" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    # The row the import would reject says why.
    assert "Rejected: E-mail (email): “not-an-email” is not a valid email address." in html
    assert "<code>notes</code>" in html and "<code>plan</code>" in html
    # Previewing writes nothing.
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.MAPPING
    assert not Lead.objects.exists()


def test_the_preview_follows_the_mapping_as_it_is_edited_through_htmx(client, marketer):
    client.force_login(marketer)
    lead_import = uploaded(client)
    stored_mapping = LeadImport.objects.get(pk=lead_import.pk).mapping
    response = client.post(
        mapping_url(lead_import),
        {**AS_ATTRIBUTES, "key_2": "employees", "key_3": "Bad Key"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the preview alone
    assert "<code>employees</code>" in html
    assert '<td class="text-break">120</td>' in html
    assert "software" not in html  # its key is refused: not previewed
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.MAPPING
    assert lead_import.mapping == stored_mapping


def test_hostile_headers_and_cells_are_text_in_the_mapping_form(client, marketer):
    client.force_login(marketer)
    lead_import = uploaded(
        client, 'email,<b onmouseover="x">Size</b>\na@example.com,<script>1</script>\n'
    )
    html = client.get(mapping_url(lead_import)).content.decode()
    assert "&lt;b onmouseover=&quot;x&quot;&gt;Size&lt;/b&gt;" in html
    assert "e.g. &lt;script&gt;1&lt;/script&gt;" in html
    assert "<b onmouseover" not in html and "<script>1" not in html
    assert 'name="key_1" value="b_onmouseover_x_size_b"' in html


def test_the_first_visit_previews_the_suggested_mapping(client, marketer):
    client.force_login(marketer)
    html = client.get(mapping_url(uploaded(client))).content.decode()
    assert html.count('data-testid="import-preview-row"') == 2
    assert '<td class="text-break">ada@example.com</td>' in html
    assert "New lead" in html


def test_the_mapping_page_loads_its_script_from_a_file(client, marketer):
    client.force_login(marketer)
    html = client.get(mapping_url(uploaded(client))).content.decode()
    assert '<script src="/static/js/import_mapping.js" defer></script>' in html


def test_a_rep_can_neither_map_nor_preview(client, marketer, rep):
    lead_import = imports.lead_import_create(file_name="x.csv", raw=FILE.encode(), actor=marketer)
    client.force_login(rep)
    assert client.get(mapping_url(lead_import)).status_code == 403
    assert client.post(mapping_url(lead_import), AS_ATTRIBUTES).status_code == 403
    response = client.post(mapping_url(lead_import), AS_ATTRIBUTES, HTTP_HX_REQUEST="true")
    assert response.status_code == 403


def test_another_marketer_cannot_preview_my_import(client, marketer):
    other = make_user("other_marketer", Role.MARKETING)
    lead_import = imports.lead_import_create(file_name="x.csv", raw=FILE.encode(), actor=marketer)
    client.force_login(other)
    assert (
        client.post(mapping_url(lead_import), AS_ATTRIBUTES, HTTP_HX_REQUEST="true").status_code
        == 404
    )
