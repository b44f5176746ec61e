"""Who may change what in goals, plans and OKRs (views and API ask here, in one place).

Everyone signed in reads. Marketing manages marketing goals and OKRs, sales manages sales
ones; shared goals, revenue plans and everything else belong to managers (and admins).
"""

from rest_framework import permissions

from goals.models import OwnerTeam

TEAM_PERMISSION = {
    OwnerTeam.MARKETING: "goals.manage_marketing_goals",
    OwnerTeam.SALES: "goals.manage_sales_goals",
}


def can_manage_team(user, owner_team: str) -> bool:
    """May ``user`` create or edit goals, objectives and check-ins owned by ``owner_team``?"""
    if not user.is_authenticated:
        return False
    if owner_team == OwnerTeam.SHARED:
        return all(user.has_perm(perm) for perm in TEAM_PERMISSION.values())
    perm = TEAM_PERMISSION.get(owner_team)
    return perm is not None and user.has_perm(perm)


def manageable_teams(user) -> list[str]:
    return [team for team in OwnerTeam.values if can_manage_team(user, team)]


def can_manage_plans(user) -> bool:
    return user.is_authenticated and user.has_perm("goals.change_revenueplan")


class ReadOrOwnerTeam(permissions.BasePermission):
    """Reads for everyone signed in; writes on an object need its owner team's permission
    (creation is checked against the requested team by the view)."""

    message = "Your team cannot change this."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or bool(manageable_teams(request.user))

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_manage_team(request.user, obj.owner_team)


class ReadOrPlanManager(permissions.BasePermission):
    message = "Only managers change revenue plans."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or can_manage_plans(request.user)
