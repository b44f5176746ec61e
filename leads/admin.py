from django.contrib import admin

from leads.models import (
    Campaign,
    Event,
    Lead,
    Product,
    QualificationDefinition,
    RescoreRun,
    RoutingRule,
    SalesFeedback,
    StageTransition,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active"]
    search_fields = ["name", "code"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "source", "product", "starts_on", "ends_on", "cost"]
    list_filter = ["channel"]
    search_fields = ["name", "source"]
    list_select_related = ["product"]


class TransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = ["from_stage", "to_stage", "at", "actor", "reason", "definition"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Read-mostly: stage moves and scores change through the services, not here."""

    list_display = ["email", "company", "stage", "score", "owner", "source", "created_at"]
    list_filter = ["stage", "source"]
    search_fields = ["email", "external_id", "company", "last_name"]
    list_select_related = ["owner"]
    readonly_fields = [
        "stage",
        "score",
        "fit_score",
        "engagement_score",
        "score_details",
        "stage_changed_at",
        "handed_off_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
        "mql_definition",
        "sql_definition",
    ]
    raw_id_fields = ["owner", "campaign", "product", "persona", "team"]
    inlines = [TransitionInline]


@admin.register(QualificationDefinition)
class QualificationDefinitionAdmin(admin.ModelAdmin):
    """Versions are drafted and activated in the app; here they are read."""

    list_display = ["__str__", "stage", "version", "status", "effective_at"]
    list_filter = ["stage", "status"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RescoreRun)
class RescoreRunAdmin(admin.ModelAdmin):
    list_display = ["definition", "status", "processed", "total", "qualified", "created_at"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["lead", "type", "occurred_at"]
    list_filter = ["type"]
    raw_id_fields = ["lead", "campaign"]


@admin.register(SalesFeedback)
class SalesFeedbackAdmin(admin.ModelAdmin):
    list_display = ["lead", "author", "accepted", "rating", "reason", "created_at"]
    list_filter = ["accepted", "reason"]
    raw_id_fields = ["lead"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "team", "product", "persona", "is_active"]
    list_filter = ["is_active", "team"]
