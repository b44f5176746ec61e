"""Role groups and their permissions, kept in one table.

`sync_role_groups` runs after every `migrate` (see `AccountsConfig.ready`) so each group gets
the permissions of models that exist now; later apps add their codenames to `ROLE_PERMISSIONS`.
"""

from accounts.models import Role

# "app_label.codename" per role. Admin gets every permission.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MARKETING: ("accounts.view_team",),
    Role.SALES: ("accounts.view_team",),
    Role.MANAGER: (
        "accounts.view_team",
        "accounts.change_team",
        "accounts.view_user",
        "accounts.change_user",
    ),
}


def register_permissions(role: str, *codenames: str) -> None:
    """Let an app grant its own permissions to a role (called from the app's `ready`)."""
    ROLE_PERMISSIONS[role] = tuple(dict.fromkeys((*ROLE_PERMISSIONS.get(role, ()), *codenames)))


def sync_role_groups(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    all_permissions = list(Permission.objects.select_related("content_type"))
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in all_permissions}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        if role == Role.ADMIN:
            group.permissions.set(all_permissions)
            continue
        wanted = [by_name[name] for name in ROLE_PERMISSIONS.get(role, ()) if name in by_name]
        group.permissions.set(wanted)
