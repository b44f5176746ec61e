"""Demo people (called first by `manage.py seed_demo`): teams and a user for each role."""

from django.contrib.auth.models import Group

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


def seed(stdout) -> None:
    sync_role_groups()
    teams = {
        "Marketing": Team.objects.get_or_create(
            name="Marketing", defaults={"function": Team.Function.MARKETING}
        )[0],
        "Sales": Team.objects.get_or_create(
            name="Sales", defaults={"function": Team.Function.SALES}
        )[0],
    }
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
        if username == "manager":  # the demo manager also runs the integrations
            user.groups.add(Group.objects.get(name=Role.INTEGRATIONS.value))
    for name, manager in (("Sales", "manager"), ("Marketing", "manager")):
        team = teams[name]
        if team.manager_id is None:
            team.manager = User.objects.get(username=manager)
            team.save(update_fields=["manager"])
    stdout.write(f"People: {len(DEMO_USERS)} demo users in {len(teams)} teams.")
