"""A manager's day: edit the SLA agreement, then read the compliance page it is measured by."""

import datetime as dt

import pytest
from django.utils import timezone

from sla import services
from sla.models import SLAAgreement
from sla.services import HandOff
from tests.leads.factories import LeadFactory
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_manager_edits_the_agreement_and_sees_the_compliance_page(
    page, login, manager, rep, artifact_path
):
    BusinessCalendarFactory(
        name="Always open", time_zone="UTC", hours={str(d): [["00:00", "00:00"]] for d in range(7)}
    )
    agreement = SLAAgreementFactory(name="Sales and marketing SLA")
    handed_off = timezone.now() - dt.timedelta(hours=2)
    lead = LeadFactory(owner=rep, stage="sql", first_name="Grace", created_at=handed_off)
    services.clocks_start(handoffs=[HandOff(lead.pk, rep.pk, handed_off)])
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    login(manager)
    page.goto("/sla/agreements/")
    page.get_by_role("link", name=agreement.name).first.click()
    page.get_by_role("link", name="Edit").first.click()
    page.locator("#id_first_touch_hours").fill("4")
    page.locator("#id_leads_per_product_per_month").fill("60")
    page.locator("#id_effective_until").fill("2019-12-31")
    page.get_by_role("button", name="Save").click()
    # Refused on its field, in plain words; what was typed elsewhere is kept.
    message = page.locator("#id_effective_until ~ .invalid-feedback, #error_1_id_effective_until")
    message.first.wait_for()
    assert "constraint" not in message.first.inner_text().lower()
    assert page.locator("#id_first_touch_hours").input_value() == "4"
    page.locator("#id_effective_until").fill("")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/sla/agreements/**")
    current = SLAAgreement.objects.filter(family=agreement.family).order_by("-version").first()
    assert (current.first_touch_hours, current.leads_per_product_per_month) == (4, 60)
    page.screenshot(path=artifact_path("manager-agreement.png"), full_page=True)

    page.goto("/sla/compliance/")
    groups = page.locator("#compliance-groups")
    groups.wait_for()
    assert "Rep" in groups.inner_text()
    assert page.locator("#compliance-commitments").count() == 1
    page.screenshot(path=artifact_path("manager-compliance.png"), full_page=True)
    assert errors == []
