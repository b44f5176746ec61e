"""Reactions of the reporting app to other apps' domain events (connected in `apps.py`)."""


def webhook_deliveries_for_event(sender, *, event_type, payload, occurred_at, **kwargs):
    from reporting.services import webhook_deliveries_create

    webhook_deliveries_create(event_type=event_type, payload=payload, occurred_at=occurred_at)
