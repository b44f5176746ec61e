"""Who may read the audit log and manage API tokens, for the pages and the API alike."""

from accounts.models import Role


def sees_audit(user) -> bool:
    """The audit log is the managers' (`/accounts/audit/` and `GET audit/`)."""
    return user.is_authenticated and user.has_role(Role.MANAGER)


def manages_tokens(user) -> bool:
    """API tokens are issued and revoked by the Integrations role (not only the superuser)."""
    return user.is_authenticated and user.has_role(Role.INTEGRATIONS)
