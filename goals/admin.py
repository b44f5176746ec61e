from django.contrib import admin

from goals.models import CheckIn, Goal, KeyResult, Objective, PlanProductShare, RevenuePlan


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "metric",
        "owner_team",
        "start",
        "end",
        "target_value",
        "measured_value",
    ]
    list_filter = ["owner_team", "metric"]
    readonly_fields = ["measured_value", "measured_at", "last_period_value"]


class PlanProductShareInline(admin.TabularInline):
    model = PlanProductShare
    extra = 0


@admin.register(RevenuePlan)
class RevenuePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "period_start", "months", "revenue_target"]
    readonly_fields = ["computed", "computed_at"]
    inlines = [PlanProductShareInline]


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    extra = 0
    max_num = Objective.MAX_KEY_RESULTS


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["title", "year", "quarter", "owner_team"]
    list_filter = ["year", "quarter", "owner_team"]
    inlines = [KeyResultInline]


admin.site.register(CheckIn)
