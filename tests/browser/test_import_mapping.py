"""In a real browser, under the strict Content-Security-Policy: a CSV column kept as an
attribute shows its key, and the preview follows the mapping as it is edited."""

import pytest
from playwright.sync_api import expect

from leads import imports
from leads.models import LeadImport

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

FILE = (
    "Email,Company size,Notes\n"
    "ada@example.com,120,<script>window.hacked = true</script>\n"
    "grace@example.com,20,\n"
)


def test_a_column_kept_as_an_attribute_is_previewed_under_its_key(
    page, login, marketer, strict_csp, artifact_path
):
    lead_import = imports.lead_import_create(
        file_name="leads.csv", raw=FILE.encode(), actor=marketer
    )
    login(marketer)
    page.goto(f"/leads/imports/{lead_import.pk}/mapping/")
    column = page.get_by_test_id("import-column").nth(1)
    key = column.get_by_label("Attribute key")
    expect(key).to_be_hidden()  # the column is ignored for now
    preview = page.get_by_test_id("import-preview")
    expect(preview).not_to_contain_text("company_size")

    column.get_by_label("Company size").select_option("attribute")
    expect(key).to_be_visible()
    expect(key).to_have_value("company_size")
    expect(preview.locator("thead")).to_contain_text("company_size")
    expect(preview.get_by_test_id("import-preview-row").first).to_contain_text("120")

    key.fill("employees")
    expect(preview.locator("thead")).to_contain_text("employees")
    page.get_by_test_id("import-column").nth(2).get_by_label("Notes").select_option("attribute")
    expect(preview).to_contain_text("<script>window.hacked = true</script>")
    assert page.evaluate("window.hacked") is None
    page.screenshot(path=artifact_path("import-mapping-preview.png"), full_page=True)

    page.get_by_role("button", name="Import 2 rows").click()
    page.wait_for_url(f"**/leads/imports/{lead_import.pk}/")
    lead_import.refresh_from_db()
    assert lead_import.status != LeadImport.Status.MAPPING
    assert lead_import.mapping == {"0": "email", "1": "attribute:employees", "2": "attribute:notes"}
    assert strict_csp == []
