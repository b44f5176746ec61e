"""Load demo data idempotently: teams, a user for each role, and each app's demo records.

Apps extend the demo by providing `<app>.demo.seed(stdout)`; this command calls them in
dependency order. Running it twice changes nothing the second time.
"""

from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Role, Team, User
from accounts.roles import sync_role_groups

DEMO_PASSWORD = "smarketing-demo"

DEMO_USERS = (
    # username, first, last, role, team, time zone, staff/superuser
    ("admin", "Ada", "Admin", Role.ADMIN, None, "UTC", True),
    ("manager", "Morgan", "Reyes", Role.MANAGER, "Sales", "America/New_York", False),
    ("marketer", "Mia", "Lund", Role.MARKETING, "Marketing", "Europe/Paris", False),
    ("rep", "Ravi", "Patel", Role.SALES, "Sales", "America/New_York", False),
    ("other_rep", "Olivia", "Chen", Role.SALES, "Sales", "America/New_York", False),
)

# Personas first: demo leads are matched to them.
APPS_WITH_DEMO = ("personas", "leads", "sla", "goals", "reporting")


class Command(BaseCommand):
    help = "Create demo teams, users (one per role) and demo data. Safe to run repeatedly."

    def handle(self, *args, **options):
        # Demo people have example.com addresses: the in-app notifications are made, no email.
        with override_settings(
            MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
        ):
            self._seed()

    def _seed(self):
        with transaction.atomic():
            sync_role_groups()
            teams = {
                "Marketing": Team.objects.get_or_create(
                    name="Marketing", defaults={"function": Team.Function.MARKETING}
                )[0],
                "Sales": Team.objects.get_or_create(
                    name="Sales", defaults={"function": Team.Function.SALES}
                )[0],
            }
            from django.contrib.auth.models import Group

            for username, first, last, role, team, tz, superuser in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@example.com",
                        "team": teams.get(team),
                        "time_zone": tz,
                        "is_staff": superuser or role == Role.MANAGER,
                        "is_superuser": superuser,
                    },
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role.value))
            for name, manager in (("Sales", "manager"), ("Marketing", "manager")):
                team = teams[name]
                if team.manager_id is None:
                    team.manager = User.objects.get(username=manager)
                    team.save(update_fields=["manager"])

        for app in APPS_WITH_DEMO:
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.seed(stdout=self.stdout)

        self.stdout.write(self.style.SUCCESS("Demo data is loaded. Log in with:"))
        for username, _first, _last, role, _team, _tz, _su in DEMO_USERS:
            self.stdout.write(f"  {username:<10} / {DEMO_PASSWORD}   ({role.value})")
