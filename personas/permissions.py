"""Who may change what in personas, for the pages and the API alike (they ask here).

Everyone signed in reads. Marketing writes personas; a manager does everything. Interviews
are recorded by marketing and sales, and changed or deleted by who recorded them, the
persona's contributors (whatever their team) or a manager. The journey map is marketing's,
a manager's, and the persona's contributors'. Model permissions (see `PersonasConfig.ready`)
give the role-wide rights; contributions give the rest.
"""

from rest_framework import permissions

from accounts.models import Role


def can_edit_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.change_persona")


def can_create_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_persona")


def can_record_interview(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_interview")


def is_contributor(user, persona) -> bool:
    """Over `persona.contributors.all()`, so a prefetched list costs no query."""
    return any(person.pk == user.pk for person in persona.contributors.all())


def can_edit_journey(user, persona=None) -> bool:
    """Marketing (the permission), a manager, or one of the persona's contributors whatever
    their team: the journey map is co-written by the people who interviewed its customers."""
    if not user.is_authenticated:
        return False
    if user.has_perm("personas.change_journeystage") or user.has_role(Role.MANAGER):
        return True
    return persona is not None and is_contributor(user, persona)


def can_change_interview(user, interview, persona=None) -> bool:
    """An interview is changed or deleted by who recorded it, the persona's contributors
    (whatever their team) or a manager; the others read it. `persona` is the interview's,
    when the caller holds it with its contributors prefetched."""
    if not user.is_authenticated:
        return False
    if interview.interviewer_id == user.pk or user.has_role(Role.MANAGER):
        return True
    return is_contributor(user, persona or interview.persona)


class ModelPermissionsOrRead(permissions.DjangoModelPermissions):
    """Reads for everyone signed in, writes by the model's add/change/delete permissions."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "OPTIONS": [],
        "HEAD": [],
    }


class InterviewPermissions(permissions.BasePermission):
    """Reads for everyone signed in; a change or a deletion by `can_change_interview`, as on
    the interview's pages."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_change_interview(request.user, obj)
