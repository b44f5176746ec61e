"""Reactions of the reporting app to other apps' domain events (connected in `apps.py`)."""


def webhook_deliveries_for_events(sender, *, event_type, payloads, occurred_at, **kwargs):
    """A batch of integration events becomes deliveries to the subscribed webhooks."""
    from reporting.services import webhook_deliveries_create

    webhook_deliveries_create(event_type=event_type, payloads=payloads, occurred_at=occurred_at)
