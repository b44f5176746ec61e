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


def can_delete_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.delete_persona")


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


def can_update_persona(user, persona, fields) -> bool:
    """May `user` send an update of `persona` carrying `fields` (the names in the body)?
    The journey map alone is the map's rule; anything else needs the right to edit personas
    (and the map's too when the map comes with it)."""
    fields = set(fields)
    if fields == {"journey"}:
        return can_edit_journey(user, persona)
    return can_edit_persona(user) and ("journey" not in fields or can_edit_journey(user, persona))


def _body_fields(data) -> set[str]:
    return set(data) if isinstance(data, dict) else {""}


class PersonaPermissions(permissions.BasePermission):
    """Reads for everyone signed in; creating and deleting by the role's permission; an
    update by what it changes (`can_update_persona`)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if view.action == "create":
            return can_create_persona(user)
        if view.action == "destroy":
            return can_delete_persona(user)
        return True  # updates and interviews/: decided on the persona

    def has_object_permission(self, request, view, obj) -> bool:
        if view.action in ("update", "partial_update"):
            return can_update_persona(request.user, obj, _body_fields(request.data))
        return True


class InterviewPermissions(permissions.BasePermission):
    """Reads for everyone signed in; a change or a deletion by `can_change_interview`, as on
    the interview's pages."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_change_interview(request.user, obj)
