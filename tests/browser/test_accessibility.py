"""Every page of the app, as each role, passes axe-core with no serious or critical violation
and logs no console error.

The pages are enumerated from the URL configuration: a GET page added to the urls without
being added to `PAGES` (or named in `NOT_PAGES` with the reason it is not a page) fails
`test_every_url_is_a_checked_page_or_named_as_not_one`.
"""

import contextlib
import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from rest_framework.authtoken.models import Token

from accounts.models import Role
from accounts.services import notification_item, notification_send
from goals.models import Goal, RevenuePlan
from leads import imports
from leads.models import Campaign, Lead, Product, RoutingRule
from leads.services import definition_create
from personas.models import Persona
from reporting.selectors import day_start
from reporting.services import review_action_item_add, weekly_review_build
from sla.models import BusinessCalendar, SLAAgreement
from sla.services import HandOff, clocks_start, clocks_sweep
from tests.browser.test_charts import chart_pages
from tests.conftest import PASSWORD, ROOT, make_user
from tests.goals.factories import KeyResultFactory, ObjectiveFactory
from tests.leads.factories import LeadFactory
from tests.leads.helpers import MQL_RULES, SQL_RULES, active_definition
from tests.personas.factories import InterviewFactory, JourneyStageFactory
from tests.reporting.test_weekly_review import week_of_the_story
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_subscription_create

PHONE = {"width": 390, "height": 844}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# What the browser logs for an answer it was refused: "… with a status of 403 (Forbidden)".
REFUSAL = re.compile(r"status of 4\d\d ")


def url(name: str, key: str | None = None) -> Callable[[dict], list[str]]:
    """The page `name`, taking the id of the world's object `key` if it has one."""
    return lambda world: [reverse(name, args=[world[key].pk] if key else [])]


def period(world: dict) -> str:
    return f"start={world['first_day']}&end={world['last_day']}"


# Every GET page, by URL name: the addresses to check (some pages in more than one state).
PAGES: dict[str, Callable[[dict], list[str]]] = {
    "dashboard": lambda w: ["/", f"/?{period(w)}"],
    "password_change": url("password_change"),
    "password_change_done": url("password_change_done"),
    "accounts:profile": url("accounts:profile"),
    "accounts:notifications": url("accounts:notifications"),
    "accounts:audit": url("accounts:audit"),
    "accounts:api_tokens": url("accounts:api_tokens"),
    "leads:index": lambda w: ["/leads/", "/leads/?stage=sql"],
    "leads:detail": lambda w: [
        reverse("leads:detail", args=[w["queued_lead"].pk]),
        reverse("leads:detail", args=[w["customer"].pk]),
    ],
    "leads:edit": url("leads:edit", "queued_lead"),
    "leads:campaign_list": url("leads:campaign_list"),
    "leads:campaign_create": url("leads:campaign_create"),
    "leads:campaign_detail": url("leads:campaign_detail", "campaign"),
    "leads:campaign_edit": url("leads:campaign_edit", "campaign"),
    "leads:product_list": url("leads:product_list"),
    "leads:product_create": url("leads:product_create"),
    "leads:product_detail": url("leads:product_detail", "product"),
    "leads:product_edit": url("leads:product_edit", "product"),
    "leads:definitions": url("leads:definitions"),
    "leads:definition_new": url("leads:definition_new"),
    "leads:definition_detail": lambda w: [
        reverse("leads:definition_detail", args=[w["active_definition"].pk]),
        reverse("leads:definition_detail", args=[w["draft_definition"].pk]),
    ],
    "leads:import_upload": url("leads:import_upload"),
    "leads:import_detail": url("leads:import_detail", "lead_import"),
    "leads:import_mapping": url("leads:import_mapping", "lead_import"),
    "leads:routing_rules": url("leads:routing_rules"),
    "leads:routing_rule_new": url("leads:routing_rule_new"),
    "leads:routing_rule_edit": url("leads:routing_rule_edit", "routing_rule"),
    "leads:routing_rule_delete": url("leads:routing_rule_delete", "routing_rule"),
    "personas:index": url("personas:index"),
    "personas:create": url("personas:create"),
    "personas:detail": url("personas:detail", "persona"),
    "personas:edit": url("personas:edit", "persona"),
    "personas:interview_create": url("personas:interview_create", "persona"),
    "personas:journey": url("personas:journey", "persona"),
    "personas:interview_edit": lambda w: [
        reverse("personas:interview_edit", args=[w["persona"].pk, w["interview"].pk])
    ],
    "personas:interview_delete": lambda w: [
        reverse("personas:interview_delete", args=[w["persona"].pk, w["interview"].pk])
    ],
    "sla:index": url("sla:index"),
    "sla:agreements": url("sla:agreements"),
    "sla:agreement_new": url("sla:agreement_new"),
    "sla:agreement_detail": url("sla:agreement_detail", "agreement"),
    "sla:agreement_edit": url("sla:agreement_edit", "agreement"),
    "sla:calendars": url("sla:calendars"),
    "sla:calendar_new": url("sla:calendar_new"),
    "sla:calendar_edit": url("sla:calendar_edit", "calendar"),
    "sla:compliance": lambda w: ["/sla/compliance/", "/sla/compliance/?group_by=product"],
    "goals:index": url("goals:index"),
    "goals:goal_create": url("goals:goal_create"),
    "goals:goal_detail": url("goals:goal_detail", "goal"),
    "goals:goal_edit": url("goals:goal_edit", "goal"),
    "goals:goal_print": url("goals:goal_print", "goal"),
    "goals:plans": url("goals:plans"),
    "goals:plan_create": url("goals:plan_create"),
    "goals:plan_detail": url("goals:plan_detail", "plan"),
    "goals:plan_edit": url("goals:plan_edit", "plan"),
    "goals:okrs": url("goals:okrs"),
    "goals:objective_create": url("goals:objective_create"),
    "goals:key_result_create": url("goals:key_result_create", "objective"),
    "reporting:index": lambda w: [
        f"/reports/?{period(w)}",
        f"/reports/?{period(w)}&mode=flow&group_by=source",
    ],
    "reporting:funnel_leads": lambda w: [
        f"/reports/funnel/leads/?{period(w)}&mode=cohort&stage=sql"
    ],
    "reporting:quality": lambda w: [f"/reports/quality/?{period(w)}"],
    "reporting:definitions": url("reporting:definitions"),
    "reporting:operations": url("reporting:operations"),
    "reporting:reviews": url("reporting:reviews"),
    "reporting:review_detail": url("reporting:review_detail", "review"),
    "webhooks:index": url("webhooks:index"),
    "webhooks:detail": url("webhooks:detail", "webhook"),
    "webhooks:edit": url("webhooks:edit", "webhook"),
    "webhooks:delete": url("webhooks:delete", "webhook"),
}

POST_ONLY = "an action (POST), answered by a redirect or a partial of a checked page"
PARTIAL = "an htmx partial of a checked page"
# URL names that are not pages of their own, and why.
NOT_PAGES: dict[str, str] = {
    "healthz": "JSON health check",
    "favicon": "the icon",
    "login": "checked before logging in",
    "logout": POST_ONLY,
    "accounts:notifications_menu": "the bell's menu, checked open on the dashboard",
    "accounts:notifications_read": POST_ONLY,
    "accounts:notification_open": "a redirect to what the notification is about",
    "leads:export": "CSV",
    "leads:transition": POST_ONLY,
    "leads:assign": POST_ONLY,
    "leads:attempt": POST_ONLY,
    "leads:feedback": POST_ONLY,
    "leads:campaign_archive": POST_ONLY,
    "leads:product_archive": POST_ONLY,
    "leads:product_delete": POST_ONLY,
    "leads:definition_preview": POST_ONLY,
    "leads:definition_activate": POST_ONLY,
    "leads:definition_submit": POST_ONLY,
    "leads:definition_send_back": POST_ONLY,
    "leads:rescore_progress": PARTIAL,
    "leads:rescore_restart": POST_ONLY,
    "leads:import_restart": POST_ONLY,
    "leads:import_errors": "CSV",
    "leads:routing_rule_move": POST_ONLY,
    "sla:clock_attempt": POST_ONLY,
    "sla:compliance_csv": "CSV",
    "goals:plan_create_goals": POST_ONLY,
    "goals:plan_set_commitment": POST_ONLY,
    "goals:plan_remeasure": POST_ONLY,
    "goals:check_in": POST_ONLY,
    "reporting:review_item_add": POST_ONLY,
    "reporting:review_item_toggle": POST_ONLY,
    "webhooks:test": POST_ONLY,
    "webhooks:deliveries": PARTIAL,
    "webhooks:pause": POST_ONLY,
    "webhooks:resume": POST_ONLY,
}


def url_names(patterns=None, namespace: str = "", prefix: str = "") -> list[tuple[str, str]]:
    """(name, route) of every URL pattern, outside the admin and the API."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(("admin/", "api/")):
            continue
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            found += url_names(pattern.url_patterns, inner, route)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name or route
            found.append((name, route))
    return found


def test_every_url_is_a_checked_page_or_named_as_not_one():
    names = {name for name, _route in url_names()}
    assert not set(PAGES) & set(NOT_PAGES)
    assert sorted(names - set(PAGES) - set(NOT_PAGES)) == [], "add these to PAGES or NOT_PAGES"
    assert sorted(set(PAGES) - names) == [], "these pages are gone"


# -- the world --------------------------------------------------------------------------------


def build_world(*, manager, rep, other_rep, marketer, integrator) -> dict:
    """A small world with one or more of every object that has a page."""
    chart_pages(manager=manager, rep=rep, other_rep=other_rep)  # funnel story, SLA, charts
    now = timezone.now()
    persona = Persona.objects.get(name="Ops Olivia")
    interview = InterviewFactory(persona=persona, interviewer=marketer)
    JourneyStageFactory(persona=persona)
    campaign = Campaign.objects.get(name="Webinar")
    year, quarter = now.year, (now.month - 1) // 3 + 1
    objective = ObjectiveFactory(title="Pipeline we can trust", year=year, quarter=quarter)
    KeyResultFactory(objective=objective, title="Ten case studies")
    week = week_of_the_story()
    review = weekly_review_build(now=day_start(week + dt.timedelta(days=7)) + dt.timedelta(hours=7))
    # Two action items, each its owner's: a rep or a marketer sees one they may mark done
    # and one they only read.
    for owner in (rep, marketer):
        review_action_item_add(
            review=review, text=f"Follow up, {owner}", owner=owner, created_by=owner
        )
    webhook = webhook_subscription_create(
        name="CRM sync",
        url="https://crm.example.com/hooks",
        event_types=["lead.created", "sla.breached"],
        created_by=integrator,
    )
    delivery = WebhookDelivery.objects.create(
        subscription=webhook,
        event_type="lead.created",
        payload={"id": 1},
        occurred_at=now,
        status=WebhookDelivery.Status.FAILED,
        attempts=1,
        last_status_code=500,
        last_error="Server error",
    )
    WebhookAttempt.objects.create(delivery=delivery, number=1, at=now, status_code=500)
    Token.objects.create(user=integrator)
    # The rep's queue: a lead just handed off, and one whose first touch is overdue.
    for first_name, handed_off_at in (("Grace", now), ("Alan", now - dt.timedelta(days=3))):
        lead = LeadFactory(owner=rep, stage="sql", first_name=first_name, created_at=handed_off_at)
        clocks_start(handoffs=[HandOff(lead.pk, rep.pk, handed_off_at)])
    clocks_sweep(now=now)
    queued_lead = Lead.objects.get(first_name="Grace")
    customer = Lead.objects.get(first_name="ada")
    for user in (rep, other_rep, marketer, manager, integrator):
        notification_send(
            users=[user],
            kind="lead_assigned",
            title="A lead was assigned",
            body="Cleo is waiting for a first touch.",
            url=queued_lead.get_absolute_url(),
            items=[notification_item(kind="lead", pk=queued_lead.pk, label="Cleo")],
            email=False,
        )
    return {
        "first_day": (now - dt.timedelta(days=45)).date(),
        "last_day": now.date(),
        "queued_lead": queued_lead,
        "customer": customer,
        "campaign": campaign,
        "product": Product.objects.get(pk=campaign.product_id),
        "active_definition": active_definition("mql", MQL_RULES, actor=manager),
        "draft_definition": definition_create(
            stage="sql", name="Contact sales", rules=SQL_RULES, actor=marketer
        ),
        "lead_import": imports.lead_import_create(
            file_name="leads.csv",
            raw=b"Email,Company\nada.new@example.com,Acme\n",
            actor=marketer,
        ),
        "routing_rule": RoutingRule.objects.create(
            name="Everyone", team=manager.team, priority=10, countries=["US"]
        ),
        "persona": persona,
        "interview": interview,
        "agreement": SLAAgreement.objects.get(name="Sales and marketing SLA"),
        "calendar": BusinessCalendar.objects.get(name="New York office"),
        "goal": Goal.objects.get(title="Three hundred MQLs"),
        "plan": RevenuePlan.objects.get(name="This quarter"),
        "objective": objective,
        "review": review,
        "webhook": webhook,
    }


# -- the check ----------------------------------------------------------------------------------

RUN_AXE = """async () => {
    const results = await axe.run(document, {resultTypes: ["violations"]});
    return results.violations
        .filter((violation) => ["serious", "critical"].includes(violation.impact))
        .map((violation) => ({
            id: violation.id,
            impact: violation.impact,
            help: violation.help,
            targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
        }))
        // A chart is an image to assistive technology: it needs a name, and a table.
        .concat([...document.querySelectorAll("canvas")]
            .filter((canvas) => canvas.getAttribute("role") !== "img"
                || !(canvas.getAttribute("aria-label") || "").trim()
                || !document.querySelector("main table"))
            .map((canvas) => ({
                id: "chart-without-name-or-table",
                impact: "serious",
                help: "A chart has role=img, an aria-label, and its numbers in a table",
                targets: [`canvas#${canvas.id}`],
            })));
}"""

# Forms submitted empty (browser validation off), to check their messages too: new-object
# forms only, so a submission that passes changes nothing another page shows.
EMPTY_FORMS = (
    "accounts:api_tokens",
    "leads:campaign_create",
    "leads:product_create",
    "leads:definition_new",
    "leads:import_upload",
    "leads:routing_rule_new",
    "personas:create",
    "sla:agreement_new",
    "sla:calendar_new",
    "goals:goal_create",
    "goals:plan_create",
    "goals:objective_create",
    "goals:key_result_create",
    "webhooks:index",
    "password_change",
)
SUBMIT_EMPTY = """() => {
    const form = [...document.querySelectorAll("main form")].find(
        (candidate) => candidate.method === "post" && candidate.querySelector("[type=submit]"));
    if (!form) return false;
    form.noValidate = true;
    for (const field of form.querySelectorAll("input, textarea")) {
        if (!["hidden", "checkbox", "radio", "file", "submit"].includes(field.type)) {
            field.value = "";
        }
    }
    form.requestSubmit(form.querySelector("[type=submit]"));
    return true;
}"""


class Checker:
    """One browser context for a role: visits pages, runs axe on each, collects problems."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1400, "height": 900}, bypass_csp=True
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        self.page.on("response", self._response)
        self.axe = AXE.read_text()
        self.problems: list[str] = []
        self.statuses: dict[str, int] = {}
        self.refusals_checked: set[int] = set()
        self.refusals_expected = False
        self.visited: list[str] = []

    def _console(self, message) -> None:
        if message.type != "error":
            return
        location = message.location.get("url", "")
        # The browser logs the status of a page it was refused (403/404): that is the page.
        # A form sent empty is refused on purpose, and so is what it sends in place (htmx).
        refused = self.statuses.get(location, 200) >= 400 or self.refusals_expected
        if "Failed to load resource" in message.text and refused and REFUSAL.search(message.text):
            return
        self.console.append(f"console: {message.text} ({location})")

    def _response(self, response) -> None:
        if response.request.resource_type == "document":
            self.statuses[response.url] = response.status

    def login(self, user) -> None:
        self.page.goto("/login/")
        self.check("/login/ (logged out)")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(lambda address: "/login/" not in address)

    def visit(self, address: str) -> int:
        self.console.clear()
        response = self.page.goto(address)
        status = response.status if response else 0
        self.visited.append(f"{status} {address}")
        if status >= 500 or status in (400, 405):
            self.problems.append(f"{address}: answered {status}")
            return status
        if status >= 400:
            # A refusal looks the same on every page: check it once per status.
            if status in self.refusals_checked:
                return status
            self.refusals_checked.add(status)
        self.check(address)
        return status

    def submit_empty(self, address: str) -> None:
        """The first form of the page at `address`, sent with its text fields empty."""
        self.console.clear()
        self.page.goto(address)
        self.refusals_expected = True
        try:
            sent, status = False, "in place"
            with (
                contextlib.suppress(PlaywrightError),
                self.page.expect_navigation(timeout=5_000) as navigation,
            ):
                sent = self.page.evaluate(SUBMIT_EMPTY)
            if not sent:
                return  # a page some people only read
            with contextlib.suppress(PlaywrightError):
                status = getattr(navigation.value, "status", "-")
            self.visited.append(f"{status} {address} (sent empty)")
            self.check(f"{address} (sent empty)")
        finally:
            self.refusals_expected = False

    def check(self, address: str) -> None:
        # A page that polls never goes idle; it has loaded by then.
        with contextlib.suppress(PlaywrightError):
            self.page.wait_for_load_state("networkidle", timeout=5_000)
        self.page.add_script_tag(content=self.axe)
        for violation in self.page.evaluate(RUN_AXE):
            self.problems.append(
                f"{address}: {violation['impact']} {violation['id']} ({violation['help']}) "
                f"at {violation['targets']}"
            )
        self.problems.extend(f"{address}: {line}" for line in self.console)
        self.console.clear()

    def close(self) -> None:
        self.context.close()


ROLES = ("rep", "marketer", "manager", "integrator")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.timeout(600)  # some seventy pages, each checked by axe, on a shared machine
def test_every_page_passes_axe_without_console_errors_as(
    role, browser, live_server, rep, other_rep, marketer, manager, sales_team, artifact_path
):
    integrator = make_user("integrator", Role.MANAGER, sales_team)
    integrator.groups.add(Group.objects.get(name=Role.INTEGRATIONS))
    users = {"rep": rep, "marketer": marketer, "manager": manager, "integrator": integrator}
    world = build_world(
        manager=manager, rep=rep, other_rep=other_rep, marketer=marketer, integrator=integrator
    )
    checker = Checker(browser, live_server.url)
    try:
        checker.login(users[role])
        opened = []
        for addresses in PAGES.values():
            for address in addresses(world):
                if checker.visit(address) == 200:
                    opened.append(address)
        for name in EMPTY_FORMS:
            for address in PAGES[name](world):
                if address in opened:
                    checker.submit_empty(address)
        # The bell's menu, open.
        checker.visit("/")
        checker.page.get_by_test_id("notification-bell").click()
        checker.page.locator("#notification-menu").get_by_text("A lead was assigned").wait_for()
        checker.check("/ (notifications open)")
        checker.page.screenshot(path=artifact_path(f"accessibility-{role}.png"))
        # On a phone: the collapsed menu, and the queue as cards.
        checker.page.set_viewport_size(PHONE)
        for address in ("/", "/sla/"):
            checker.visit(address)
        checker.page.screenshot(path=artifact_path(f"accessibility-{role}-phone.png"))
    finally:
        checker.close()
    artifact_path(f"accessibility-{role}.txt").write_text("\n".join(checker.visited) + "\n")
    assert len(opened) > 10, f"{role} opened only {opened}"
    assert not checker.problems, "\n".join([f"{role}:", *checker.problems])
