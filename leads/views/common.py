"""Who may do what in the leads UI, and how a service's refusal lands on a form."""

from accounts.models import Role
from core.errors import DomainError
from leads.selectors import (
    sees_all_leads,
)

# -- who may do what ----------------------------------------------------------------------------


def can_import(user) -> bool:
    return sees_all_leads(user)


def can_draft_definitions(user) -> bool:
    return sees_all_leads(user)


def can_activate_definitions(user) -> bool:
    return user.has_role(Role.MANAGER)


def can_manage_routing(user) -> bool:
    """Routing rules are managed by managers (PRODUCT.md: the sales / revenue manager)."""
    return user.has_role(Role.MANAGER)


def _add_domain_error(form, exc: DomainError, fields: dict[str, str] | None = None) -> None:
    field = (fields or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)
