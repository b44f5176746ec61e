import zoneinfo

import pghistory
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def time_zone_choices() -> list:
    """Every IANA time zone for a picker, grouped by region ("Europe" → "Paris"), UTC first."""
    regions: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(zoneinfo.available_timezones()):
        region, _, place = name.partition("/")
        if name == "UTC":
            continue
        if not place:
            region, place = "Other", name
        regions.setdefault(region, []).append((name, place.replace("_", " ")))
    return [("UTC", "UTC"), *regions.items()]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known IANA time zone (e.g. Europe/Paris).")


class Role(models.TextChoices):
    """The role groups; each is a Django group with real permissions (accounts.roles).

    Integrations is given to a person in addition to their team role (a manager or an
    operator, never only the superuser): it manages webhook subscriptions and API tokens."""

    MARKETING = "Marketing"
    SALES = "Sales"
    MANAGER = "Manager"
    ADMIN = "Admin"
    INTEGRATIONS = "Integrations"


class Team(models.Model):
    class Function(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    name = models.CharField(max_length=100, unique=True)
    function = models.CharField(max_length=20, choices=Function.choices)
    manager = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person using Smarketing. Roles are group memberships (see `Role`)."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Times are shown to you in this IANA time zone.",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_away = models.BooleanField(
        default=False, help_text="Away reps are skipped when leads are routed."
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_role(self, role: Role | str) -> bool:
        if self.is_superuser:
            return True
        names = getattr(self, "_role_names", None)
        if names is None:
            names = set(self.groups.values_list("name", flat=True))
            self._role_names = names
        return str(role) in names

    @property
    def role_names(self) -> list[str]:
        return [role.value for role in Role if self.has_role(role)]


# Roles are group memberships: every one given or taken away is in the audit log.
pghistory.track(
    pghistory.InsertEvent("role.add"),
    pghistory.DeleteEvent("role.remove"),
    obj_field=None,
    model_name="UserRoleEvent",
    app_label="accounts",
)(User.groups.through)


class Notification(models.Model):
    """An in-app notification (the bell); email copies go through Django's mailer."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.SlugField(max_length=40, help_text="e.g. lead_assigned, sla_warning")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    # When the thing happened (a breach, an assignment), which may be earlier than the row.
    occurred_at = models.DateTimeField(null=True, blank=True)
    # The objects it is about, each {"type": "lead", "id": 7, "label": "Ada Lovelace <ada@…>"}:
    # a breach digest lists its leads. Links are made when shown (`linked_items`).
    items = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def event_at(self):
        """When the thing happened; rows written before it was recorded fall back to when
        the notification was written."""
        return self.occurred_at or self.created_at

    def linked_items(self) -> list[dict]:
        """The objects named, as {"label", "url"} (`url` None for a type without a page),
        skipping anything in `items` that is not an item."""
        from django.urls import NoReverseMatch, reverse

        linked = []
        for item in self.items if isinstance(self.items, list) else ():
            if not isinstance(item, dict) or not item.get("label"):
                continue
            url = None
            page = NOTIFICATION_ITEM_PAGES.get(item.get("type"))
            if page is not None and isinstance(item.get("id"), int):
                try:
                    url = reverse(page, args=[item["id"]])
                except NoReverseMatch:
                    url = None
            linked.append({"label": str(item["label"]), "url": url})
        return linked


# The page of each kind of object a notification may name: a URL name taking the object's id.
NOTIFICATION_ITEM_PAGES = {"lead": "leads:detail", "definition": "leads:definition_detail"}
