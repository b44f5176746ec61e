"""Demo data of webhooks (called by `manage.py seed_demo`): an inactive example receiver."""

from webhooks.models import WebhookSubscription
from webhooks.services import webhook_subscription_create

EXAMPLE_URL = "https://example.com/hooks"


def seed(stdout) -> None:
    if not WebhookSubscription.objects.filter(url=EXAMPLE_URL).exists():
        webhook_subscription_create(
            name="CRM example (inactive)",
            url=EXAMPLE_URL,
            event_types=["lead.stage_changed", "lead.assigned"],
            is_active=False,
        )
    stdout.write("Webhooks: an inactive example subscription.")
