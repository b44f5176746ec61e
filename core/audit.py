"""The audit log: who changed what, when, before and after, kept by database triggers.

Rows of audited models (agreements, calendars and their teams, definitions, routing rules,
webhook subscriptions, lead ownership, roles) are copied by triggers (django-pghistory on
django-pgtrigger) into event tables in the same transaction as the change, whatever wrote
it: a service, a bulk SQL update, the admin or a migration. Triggers, not signals, because
this product writes in bulk (`UPDATE … FROM unnest`, COPY) where model signals never run;
and a conditional trigger lets the lead table audit only a change of owner at no cost to
its other writes. The request's user and path come from `pghistory.middleware`.

Each update writes two rows, the row before (`…before`) and after (`update`), so an entry
always has both sides, also for rows that existed before the log began. The log is read by
`accounts.audit`.
"""

import pghistory


def audit_obj():
    """The event's link to its object: no reverse accessor (models have `events` of their
    own) and no database constraint (an object's history outlives it)."""
    return pghistory.ObjForeignKey(related_name="+", related_query_name="+")


def audited() -> tuple:
    """The trackers of an audited model (fresh ones: a tracker is set up per model)."""
    return (
        pghistory.InsertEvent(),
        pghistory.UpdateEvent("before", row="OLD"),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
    )
