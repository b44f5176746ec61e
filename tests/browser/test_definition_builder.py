"""A marketer builds a definition by pointing, previews it, submits it; a manager approves."""

import json
import re

import pytest

from accounts.models import Notification
from leads.models import QualificationDefinition
from tests.leads.factories import EventFactory, LeadFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_marketer_builds_previews_and_submits_and_the_manager_approves(
    page, login, marketer, manager, artifact_path
):
    directors = [LeadFactory(title="Director of Sales", country="DE") for _ in range(3)]
    LeadFactory.create_batch(2, title="Analyst", country="US")
    EventFactory(lead=directors[0], type="pricing_page_view")
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    login(marketer)
    page.goto("/leads/definitions/")
    page.get_by_test_id("new-definition").click()
    page.get_by_label("Name").fill("Directors in DACH")
    builder = page.get_by_test_id("definition-builder")
    builder.get_by_label("Score at least").fill("20")

    # The example's rules are drawn as rows; remove them all and build one by pointing.
    fit = builder.get_by_test_id("fit-rules")
    while fit.get_by_role("button", name=re.compile(r"^Remove fit rule")).count():
        fit.get_by_role("button", name=re.compile(r"^Remove fit rule")).first.click()
    builder.get_by_role("button", name="Add a fit rule").click()
    rule = fit.get_by_test_id("fit-rule").first
    rule.get_by_label("Points").fill("20")
    rule.get_by_label("Attribute").fill("title")
    rule.get_by_label("Operator").select_option("contains")
    rule.get_by_label("Value").fill("director")
    builder.get_by_role("button", name="Add a group of conditions").click()
    group = fit.get_by_test_id("fit-rule").nth(1)
    group.get_by_label("Points").fill("5")
    group.get_by_label("When").select_option("any")
    condition = group.get_by_test_id("fit-condition").first
    condition.get_by_label("Attribute").fill("country")
    condition.get_by_label("Operator").select_option("in")
    condition.get_by_label("Value").fill("DE, AT, CH")

    # The JSON view is the same data.
    rules = json.loads(page.locator("#id_rules").input_value())
    assert rules["threshold"] == 20
    assert rules["fit"][0] == {
        "points": 20,
        "attribute": "title",
        "operator": "contains",
        "value": "director",
    }
    assert rules["fit"][1] == {
        "points": 5,
        "any": [{"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]}],
    }

    # The live preview follows the edits: three directors of five open leads.
    preview = page.get_by_test_id("definition-preview")
    preview.get_by_test_id("preview-qualified").filter(has_text=re.compile(r"^3$")).wait_for()
    assert "of 5 open leads" in preview.inner_text()
    assert preview.get_by_test_id("preview-leads").locator("tbody tr").count() == 3
    page.locator("[data-chart-ready]").first.wait_for(state="attached")
    page.screenshot(path=artifact_path("definition-builder.png"), full_page=True)

    page.get_by_role("button", name="Save draft").click()
    page.get_by_test_id("definition-status").filter(has_text="Draft").wait_for()
    draft = QualificationDefinition.objects.get(name="Directors in DACH")
    assert draft.rules["fit"][1]["any"][0]["value"] == ["DE", "AT", "CH"]
    page.get_by_role("button", name="Submit for approval").click()
    page.get_by_test_id("definition-status").filter(has_text="Submitted").wait_for()
    assert Notification.objects.filter(user=manager, kind="definition_submitted").exists()

    page.context.clear_cookies()
    login(manager)
    page.goto("/leads/definitions/")
    page.get_by_test_id("pending-approval").get_by_role("link").first.click()
    page.screenshot(path=artifact_path("definition-review.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve and activate").click()
    page.wait_for_url("**/leads/definitions/")
    draft.refresh_from_db()
    assert draft.status == "active"
    assert Notification.objects.filter(user=marketer, kind="definition_approved").exists()
    assert errors == []
