"""Integration events travel in batches: a thousand events of one type cost the same few
queries as one, and nothing at all is written when no webhook wants that type."""

import pytest
from django.utils import timezone

from reporting.models import WebhookDelivery
from reporting.services import webhook_subscription_create
from smarketing.events import emit_many, integration_event

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
    payloads = [{"lead": number} for number in range(1000)]

    # subscriptions, then ids for every delivery and one COPY of them (inside a savepoint)
    with django_assert_num_queries(5):
        emit_many("lead.created", payloads, occurred_at=timezone.now())

    assert WebhookDelivery.objects.filter(subscription=crm).count() == 1000
    assert WebhookDelivery.objects.filter(subscription=warehouse).count() == 1000
    leads = WebhookDelivery.objects.filter(subscription=crm).values_list("payload__lead", flat=True)
    assert sorted(leads) == list(range(1000))


def test_events_nobody_subscribed_to_cost_one_query_and_write_nothing(
    admin_user, django_assert_num_queries
):
    webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    with django_assert_num_queries(1):
        emit_many("lead.created", [{"lead": n} for n in range(500)], occurred_at=timezone.now())
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_of_single_events_still_gets_each_event_of_a_batch():
    seen = []

    def _receiver(sender, event_type, payload, **kwargs):
        seen.append((event_type, payload["lead"]))

    integration_event.connect(_receiver, dispatch_uid="test-single-events")
    try:
        emit_many("lead.assigned", [{"lead": 1}, {"lead": 2}], occurred_at=timezone.now())
    finally:
        integration_event.disconnect(dispatch_uid="test-single-events")
    assert seen == [("lead.assigned", 1), ("lead.assigned", 2)]


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="Unknown integration event type"):
        emit_many("lead.exploded", [{"lead": 1}])


@pytest.fixture
def published():
    """Names of the Celery tasks published (to the real broker) while the test runs."""
    from celery.signals import before_task_publish

    names: list[str] = []

    def _count(sender=None, **kwargs):
        names.append(sender)

    before_task_publish.connect(_count, weak=False)
    yield names
    before_task_publish.disconnect(_count)


def test_a_thousand_deliveries_publish_two_fan_out_messages_not_a_thousand(
    admin_user, published, django_capture_on_commit_callbacks
):
    webhook_subscription_create(
        name="Pager", url="https://pager.example.com/hooks", event_types=["sla.breached"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        emit_many("sla.breached", [{"clock": n} for n in range(1000)], occurred_at=timezone.now())
    assert published == ["reporting.tasks.webhook_deliveries_enqueue"] * 2
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        emit_many("sla.breached", [{"clock": n} for n in range(3)], occurred_at=timezone.now())
    assert published == ["reporting.tasks.webhook_delivery_attempt"] * 3


def test_the_fan_out_enqueues_only_deliveries_due_for_an_attempt(admin_user, published):
    from datetime import timedelta

    from reporting.services import webhook_deliveries_enqueue
    from reporting.tasks import webhook_deliveries_enqueue as task

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
    assert webhook_deliveries_enqueue(delivery_ids=[*ids, 10**12], now=now) == 2
    assert published == ["reporting.tasks.webhook_delivery_attempt"] * 2
    for bad in ("1,2", [1, "2"], [True], list(range(501)), None):
        with pytest.raises(ValueError, match="delivery_ids"):
            task(bad)
