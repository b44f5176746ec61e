from django.contrib import admin

from personas.models import Interview, JourneyStage, Persona


class InterviewInline(admin.StackedInline):
    model = Interview
    extra = 0


class JourneyStageInline(admin.TabularInline):
    model = JourneyStage
    extra = 0
    max_num = 3


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "role_title", "industry", "updated_at"]
    list_filter = ["status"]
    filter_horizontal = ["contributors"]
    inlines = [InterviewInline, JourneyStageInline]
