"""Public events travel in batches: a thousand events of one type cost the same few
queries as one, and nothing at all is written when no webhook wants that type."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import events, outbox
from core.models import OutboxMessage
from webhooks.models import WebhookDelivery
from webhooks.services import deliveries_create, deliveries_enqueue, webhook_subscription_create
from webhooks.tasks import webhook_deliveries_enqueue as enqueue_task

pytestmark = pytest.mark.django_db


def test_a_thousand_events_make_their_deliveries_with_a_fixed_number_of_queries(
    admin_user, django_assert_num_queries
):
    crm = webhook_subscription_create(
        name="CRM", url="https://crm.example.com/hooks", event_types=["lead.created"]
    )
    warehouse = webhook_subscription_create(
        name="Warehouse",
        url="https://dw.example.com/hooks",
        event_types=["lead.created", "sla.breached"],
    )
    webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    now = timezone.now()
    batch = [events.Event("lead.created", {"lead": number}, now) for number in range(1000)]

    # The subscriptions, then the ids of every delivery (their COPY is not in the log).
    with django_assert_num_queries(2):
        deliveries_create(batch)

    assert WebhookDelivery.objects.filter(subscription=crm).count() == 1000
    assert WebhookDelivery.objects.filter(subscription=warehouse).count() == 1000
    leads = WebhookDelivery.objects.filter(subscription=crm).values_list("payload__lead", flat=True)
    assert sorted(leads) == list(range(1000))


def test_events_nobody_subscribed_to_write_no_reaction(admin_user):
    webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    events.publish("sla.warning", [{"clock": n} for n in range(500)])
    assert not OutboxMessage.objects.filter(handler="webhooks.deliveries").exists()
    events.publish("sla.breached", [{"clock": n} for n in range(5)])
    row = OutboxMessage.objects.get(handler="webhooks.deliveries")
    assert len(row.payloads) == 5
    outbox.process()
    assert WebhookDelivery.objects.count() == 5


@pytest.fixture
def tasks_sent():
    """Names of the Celery tasks published (to the real broker) while the test runs."""
    from celery.signals import before_task_publish

    names: list[str] = []

    def _count(sender=None, **kwargs):
        names.append(sender)

    before_task_publish.connect(_count, weak=False)
    yield names
    before_task_publish.disconnect(_count)


def test_a_thousand_deliveries_publish_two_fan_out_messages_not_a_thousand(
    admin_user, tasks_sent, django_capture_on_commit_callbacks
):
    webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_create([events.Event("sla.breached", {"clock": n}, now) for n in range(1000)])
    assert tasks_sent == ["webhooks.tasks.webhook_deliveries_enqueue"] * 2
    tasks_sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_create([events.Event("sla.breached", {"clock": n}, now) for n in range(3)])
    assert tasks_sent == ["webhooks.tasks.webhook_delivery_attempt"] * 3


def test_the_fan_out_enqueues_only_deliveries_due_for_an_attempt(admin_user, tasks_sent):
    now = timezone.now()
    subscription = webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    status = WebhookDelivery.Status

    def delivery(state, next_attempt_at=None):
        return WebhookDelivery.objects.create(
            subscription=subscription,
            event_type="sla.breached",
            payload={},
            occurred_at=now,
            status=state,
            next_attempt_at=next_attempt_at,
        ).pk

    ids = [
        delivery(status.PENDING),
        delivery(status.RETRYING, now - timedelta(minutes=1)),
        delivery(status.RETRYING, now + timedelta(minutes=5)),
        delivery(status.SUCCEEDED),
        delivery(status.FAILED),
    ]
    assert deliveries_enqueue(delivery_ids=[*ids, 10**12], now=now) == 2
    assert tasks_sent == ["webhooks.tasks.webhook_delivery_attempt"] * 2
    for bad in ("1,2", [1, "2"], [True], list(range(501)), None):
        with pytest.raises(ValueError, match="delivery_ids"):
            enqueue_task(bad)
