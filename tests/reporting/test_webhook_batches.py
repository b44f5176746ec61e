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

    # subscriptions, then one insert of every delivery (inside its savepoint)
    with django_assert_num_queries(4):
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
