"""Marketing writes personas and journey maps; sales and marketing record interviews;
everyone signed in reads. Model permissions (see `PersonasConfig.ready`) decide."""

from rest_framework import permissions


def can_edit_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.change_persona")


def can_create_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_persona")


def can_record_interview(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_interview")


def can_edit_journey(user, persona=None) -> bool:
    """Marketing (the permission), a manager, or one of the persona's contributors whatever
    their team: the journey map is co-written by the people who interviewed its customers."""
    from accounts.models import Role

    if not user.is_authenticated:
        return False
    if user.has_perm("personas.change_journeystage") or user.has_role(Role.MANAGER):
        return True
    if persona is None:
        return False
    return any(person.pk == user.pk for person in persona.contributors.all())


class ModelPermissionsOrRead(permissions.DjangoModelPermissions):
    """Reads for everyone signed in, writes by the model's add/change/delete permissions."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "OPTIONS": [],
        "HEAD": [],
    }


def can_change_interview(user, interview) -> bool:
    """An interview is changed or deleted by who recorded it, the persona's contributors
    (whatever their team) or a manager; the others read it."""
    from accounts.models import Role

    if not user.is_authenticated:
        return False
    if interview.interviewer_id == user.pk or user.has_role(Role.MANAGER) or user.is_superuser:
        return True
    return interview.persona.contributors.filter(pk=user.pk).exists()


class InterviewPermissions(ModelPermissionsOrRead):
    """Model permissions for the kind of write, `can_change_interview` for the object."""

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_change_interview(request.user, obj)
