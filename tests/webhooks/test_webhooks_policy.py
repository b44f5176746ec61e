"""Who may do what to webhook subscriptions, walked through the API and the pages alike
(tests/policy.py). The Integrations role manages them, given to a manager or to anyone (no
superuser needed); managers read them; nobody else gets in. Test sends and deliveries are
queued after commit, which these tests never reach: nothing is sent."""

import pytest

from tests.policy import expect
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

# role: (reads subscriptions and their deliveries, manages them: create, edit, pause and
#        resume, test send, delete)
WEBHOOKS = {
    "rep": (False, False),
    "marketer": (False, False),
    "manager": (True, False),
    "manager with Integrations": (True, True),
    "Integrations only": (True, True),
    "admin": (True, True),
}
SUBSCRIPTION = {
    "name": "Warehouse",
    "url": "https://warehouse.example.com/hooks",
    "event_types": ["lead.created"],
}


@pytest.fixture
def subscription(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    return services.webhook_subscription_create(
        name="CRM", url="https://crm.example.com/hooks", event_types=["lead.created"]
    )


@pytest.mark.parametrize("role", list(WEBHOOKS))
def test_the_webhooks_api_follows_the_table(api_as, role_people, subscription, role):
    reads, manages = WEBHOOKS[role]
    client = api_as(role_people[role])
    url = f"/api/v1/webhooks/{subscription.pk}/"
    expect(client.get("/api/v1/webhooks/"), reads)
    expect(client.get(url), reads)
    expect(client.get(f"{url}deliveries/"), reads)
    expect(client.post("/api/v1/webhooks/", SUBSCRIPTION, format="json"), manages)
    assert WebhookSubscription.objects.filter(name="Warehouse").exists() == manages
    expect(client.patch(url, {"name": "CRM (EU)"}, format="json"), manages)
    expect(client.patch(url, {"is_active": False}, format="json"), manages)
    subscription.refresh_from_db()
    assert (subscription.name, subscription.is_active) == (
        ("CRM (EU)", False) if manages else ("CRM", True)
    )
    expect(client.post(f"{url}test/"), manages)
    assert WebhookDelivery.objects.filter(subscription=subscription).exists() == manages
    expect(client.delete(url), manages)
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists() != manages


@pytest.mark.parametrize("role", list(WEBHOOKS))
def test_the_webhook_pages_follow_the_table(client, role_people, subscription, role):
    reads, manages = WEBHOOKS[role]
    client.force_login(role_people[role])
    base = f"/reports/webhooks/{subscription.pk}"
    listed = client.get("/reports/webhooks/")
    expect(listed, reads)
    if reads:
        assert ('name="url"' in listed.content.decode()) == manages  # the form to add one
    detail = client.get(f"{base}/")
    expect(detail, reads)
    if reads:
        assert (f'href="{base}/edit/"' in detail.content.decode()) == manages
    expect(client.get(f"{base}/deliveries/"), reads)
    expect(client.post("/reports/webhooks/", SUBSCRIPTION), manages)
    assert WebhookSubscription.objects.filter(name="Warehouse").exists() == manages
    expect(client.get(f"{base}/edit/"), manages)
    edited = {**SUBSCRIPTION, "name": "CRM (EU)", "url": "https://crm.example.com/hooks"}
    expect(client.post(f"{base}/edit/", edited), manages, ok=(302,))
    expect(client.post(f"{base}/pause/"), manages, ok=(302,))
    subscription.refresh_from_db()
    assert (subscription.name, subscription.is_active) == (
        ("CRM (EU)", False) if manages else ("CRM", True)
    )
    expect(client.post(f"{base}/resume/"), manages, ok=(302,))
    expect(client.post(f"{base}/test/"), manages, ok=(302,))
    assert WebhookDelivery.objects.filter(subscription=subscription).exists() == manages
    expect(client.get(f"{base}/delete/"), manages)
    expect(client.post(f"{base}/delete/"), manages, ok=(302,))
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists() != manages


def test_an_unknown_subscription_is_a_404_to_whoever_reads_them(client, api_as, manager):
    client.force_login(manager)
    assert client.get("/reports/webhooks/999999/").status_code == 404
    assert api_as(manager).get("/api/v1/webhooks/999999/").status_code == 404
