"""Reading the audit log (`core.audit` keeps it): entries newest first, each with who, when,
through which path, what, and the values before and after."""

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps

BEFORE_LABELS = {"update": "before", "owner.change": "owner.before"}
ACTIONS = {
    "insert": "created",
    "update": "changed",
    "delete": "deleted",
    "owner.change": "owner changed",
    "role.add": "role given",
    "role.remove": "role taken away",
}
# Bookkeeping columns that change with every write and say nothing to a reader.
QUIET_FIELDS = {"updated_at", "pgh_obj", "pgh_obj_id", "pgh_id", "pgh_created_at", "pgh_label"}
PAGE_MAX = 200


@dataclass
class AuditEntry:
    at: datetime
    action: str
    subject: str  # what kind of object: "SLA agreement", "lead", "role"…
    object_id: str | None
    label: str
    actor_id: int | None
    path: str
    changes: list[tuple[str, object, object]] = field(default_factory=list)
    actor: str = ""


def _event_models(subject: str | None = None) -> list:
    from pghistory.core import event_models

    found = [model for model in event_models() if model._meta.app_label != "pghistory"]
    if subject:
        found = [model for model in found if model._meta.model_name == f"{subject}event"]
    return found


def subjects() -> list[tuple[str, str]]:
    """(key, name) of every audited kind of object, for a filter."""
    return sorted(
        (model._meta.model_name.removesuffix("event"), _subject_name(model))
        for model in _event_models()
    )


def _subject_name(event_model) -> str:
    tracked = getattr(event_model, "pgh_tracked_model", None)
    if event_model._meta.model_name == "userroleevent":
        return "role"
    if event_model._meta.model_name == "leadownerevent":
        return "lead owner"
    return str(tracked._meta.verbose_name) if tracked is not None else event_model.__name__


def _label(data: dict, object_id) -> str:
    for key in ("name", "title", "email", "username"):
        if data.get(key):
            version = data.get("version")
            return f"{data[key]} v{version}" if version else str(data[key])
    return f"#{object_id}" if object_id else ""


def audit_count(*, subject: str | None = None) -> int:
    """How many entries there are (updates count once, not with their row before)."""
    from pghistory.models import Events

    models = _event_models(subject)
    if not models:
        return 0
    return Events.objects.across(*models).filter(pgh_label__in=list(ACTIONS)).count()


def audit_entries(*, subject: str | None = None, offset: int = 0, limit: int = 50):
    """The newest entries first (`limit` ≤ PAGE_MAX), and whether there are more.

    One query for the page of events, one for the rows before each update on it, one for
    the people named."""
    from pghistory.models import Events

    models = _event_models(subject)
    if not models:
        return [], False
    limit = max(1, min(PAGE_MAX, limit))
    names = {f"{model._meta.app_label}.{model.__name__}": model for model in models}
    shown = [label for label in ACTIONS]
    events = list(
        Events.objects.across(*models)
        .filter(pgh_label__in=shown)
        .order_by("-pgh_created_at", "-pgh_id")[offset : offset + limit + 1]
    )
    more = len(events) > limit
    events = events[:limit]
    updates = [event for event in events if event.pgh_label in BEFORE_LABELS]
    befores = {}
    if updates:
        for row in Events.objects.across(*models).filter(
            pgh_label__in=list(BEFORE_LABELS.values()),
            pgh_created_at__in={event.pgh_created_at for event in updates},
            pgh_obj_id__in={event.pgh_obj_id for event in updates},
        ):
            befores[(row.pgh_obj_model, row.pgh_obj_id, row.pgh_created_at)] = row.pgh_data
    entries = []
    user_ids: set[int] = set()
    for event in events:
        context = event.pgh_context if isinstance(event.pgh_context, dict) else {}
        actor_id = context.get("user") if isinstance(context.get("user"), int) else None
        data = event.pgh_data or {}
        model = names.get(event.pgh_model)
        entry = AuditEntry(
            at=event.pgh_created_at,
            action=ACTIONS[event.pgh_label],
            subject=_subject_name(model) if model is not None else event.pgh_model,
            object_id=event.pgh_obj_id,
            label=_label(data, event.pgh_obj_id),
            actor_id=actor_id,
            path=str(context.get("url") or ""),
        )
        if event.pgh_label in BEFORE_LABELS:
            before = befores.get((event.pgh_obj_model, event.pgh_obj_id, event.pgh_created_at))
            for key in sorted(set(data) | set(before or {})):
                old = (before or {}).get(key)
                if key not in QUIET_FIELDS and old != data.get(key):
                    entry.changes.append((key, old, data.get(key)))
        elif event.pgh_label == "delete":
            entry.changes = [(k, v, None) for k, v in sorted(data.items()) if k not in QUIET_FIELDS]
        else:
            entry.changes = [(k, None, v) for k, v in sorted(data.items()) if k not in QUIET_FIELDS]
        if entry.subject == "role" and isinstance(data.get("user_id"), int):
            user_ids.add(data["user_id"])
        if entry.subject == "lead owner":
            entry.label = f"lead #{event.pgh_obj_id}"
            for _name, before, after in entry.changes:
                user_ids.update(value for value in (before, after) if isinstance(value, int))
        if actor_id:
            user_ids.add(actor_id)
        entries.append(entry)
    _name_people(entries, user_ids)
    return entries, more


def _name_people(entries: list[AuditEntry], user_ids: set[int]) -> None:
    User = apps.get_model("accounts", "User")  # noqa: N806
    Group = apps.get_model("auth", "Group")  # noqa: N806
    people = {user.pk: user.get_username() for user in User.objects.filter(pk__in=user_ids)}
    groups = None
    for entry in entries:
        entry.actor = people.get(entry.actor_id, "") if entry.actor_id else ""
        if entry.subject == "lead owner":
            entry.changes = [
                ("owner", people.get(before, before), people.get(after, after))
                for _name, before, after in entry.changes
            ]
        if entry.subject == "role":
            if groups is None:
                groups = dict(Group.objects.values_list("id", "name"))
            values = {
                key: after if after is not None else before for key, before, after in entry.changes
            }
            group, person = values.get("group_id"), values.get("user_id")
            entry.label = f"{groups.get(group, group)} for {people.get(person, person)}"
