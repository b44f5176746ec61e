"""Load demo data idempotently: teams, a user for each role, and each app's demo records.

Each app's `demo.seed(stdout)` runs in dependency order (personas first: demo leads are
matched to them). Running it twice changes nothing the second time.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.demo import DEMO_PASSWORD, DEMO_USERS
from core.models import OutboxMessage
from goals import demo as goals_demo
from leads import demo as leads_demo
from personas import demo as personas_demo
from reporting import demo as reporting_demo
from sla import demo as sla_demo
from webhooks import demo as webhooks_demo

SEEDS = (
    accounts_demo,
    personas_demo,
    leads_demo,
    sla_demo,
    goals_demo,
    reporting_demo,
    webhooks_demo,
)


class Command(BaseCommand):
    help = "Create demo teams, users (one per role) and demo data. Safe to run repeatedly."

    def handle(self, *args, **options):
        started = timezone.now()
        with transaction.atomic():
            for module in SEEDS:
                module.seed(stdout=self.stdout)
            # Demo people have example.com addresses: their notifications are in the bell,
            # and no email copy goes out.
            OutboxMessage.objects.filter(
                handler="accounts.notification_emails", created_at__gte=started
            ).delete()
        self.stdout.write(self.style.SUCCESS("Demo data is loaded. Log in with:"))
        for username, _first, _last, role, _team, _tz, _su in DEMO_USERS:
            self.stdout.write(f"  {username:<10} / {DEMO_PASSWORD}   ({role.value})")
