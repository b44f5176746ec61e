"""The API router: every viewset of the product under /api/v1/, listed here in one place."""

from rest_framework.routers import DefaultRouter

from accounts.api import AuditViewSet
from goals.api import GoalViewSet, ObjectiveViewSet, RevenuePlanViewSet
from leads.api.views import (
    CampaignViewSet,
    DefinitionViewSet,
    LeadViewSet,
    ProductViewSet,
    RescoreRunViewSet,
)
from personas.api import InterviewViewSet, PersonaViewSet
from reporting.api import FunnelReportViewSet
from sla.api import BusinessCalendarViewSet, ComplianceViewSet, SLAAgreementViewSet, SLAClockViewSet
from webhooks.api import WebhookSubscriptionViewSet

router = DefaultRouter()
for prefix, viewset, basename in (
    ("leads", LeadViewSet, "lead"),
    ("products", ProductViewSet, "product"),
    ("campaigns", CampaignViewSet, "campaign"),
    ("definitions", DefinitionViewSet, "definition"),
    ("rescore-runs", RescoreRunViewSet, "rescore-run"),
    ("personas", PersonaViewSet, "persona"),
    ("interviews", InterviewViewSet, "interview"),
    ("sla/calendars", BusinessCalendarViewSet, "sla-calendar"),
    ("sla/agreements", SLAAgreementViewSet, "sla-agreement"),
    ("sla/clocks", SLAClockViewSet, "sla-clock"),
    ("sla/compliance", ComplianceViewSet, "sla-compliance"),
    ("goals", GoalViewSet, "goal"),
    ("revenue-plans", RevenuePlanViewSet, "revenue-plan"),
    ("objectives", ObjectiveViewSet, "objective"),
    ("reports/funnel", FunnelReportViewSet, "report-funnel"),
    ("webhooks", WebhookSubscriptionViewSet, "webhook"),
    ("audit", AuditViewSet, "audit"),
):
    router.register(prefix, viewset, basename=basename)
