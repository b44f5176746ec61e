"""Who may add and tick the decisions and action items of a weekly review, for the page and
its in-place (htmx) actions alike (they ask here).

The review is both teams' meeting: everybody on them reads it. Its decisions and action
items are added by the people of the teams it is about, sales and marketing, and by
managers (the role groups' `reporting.add_reviewactionitem`, see `ReportingConfig.ready`).
An item is marked done (or not done again) by the person it is given to, by who added it,
or by a manager; the others read it.
"""

from accounts.models import Role


def can_add_review_items(user) -> bool:
    return user.is_authenticated and user.has_perm("reporting.add_reviewactionitem")


def can_toggle_review_item(user, item) -> bool:
    """`item` is a `ReviewActionItem`; its owner and author are compared by id (no query)."""
    if not user.is_authenticated:
        return False
    if user.pk in (item.owner_id, item.created_by_id):
        return True
    return user.has_role(Role.MANAGER)
