"""Marketing writes personas and journey maps; sales and marketing record interviews;
everyone signed in reads. Model permissions (see `PersonasConfig.ready`) decide."""

from rest_framework import permissions


def can_edit_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.change_persona")


def can_create_persona(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_persona")


def can_record_interview(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.add_interview")


def can_edit_journey(user) -> bool:
    return user.is_authenticated and user.has_perm("personas.change_journeystage")


class ModelPermissionsOrRead(permissions.DjangoModelPermissions):
    """Reads for everyone signed in, writes by the model's add/change/delete permissions."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "OPTIONS": [],
        "HEAD": [],
    }
