from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Smarketing", {"fields": ("team", "time_zone", "is_away")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "team", "is_away", "is_staff")
    list_filter = (*BaseUserAdmin.list_filter, "team", "is_away")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "function", "manager")
    list_filter = ("function",)
    search_fields = ("name",)
