"""Webhook subscriptions managed in the browser by the Integrations role: create (the
signing secret shown once), edit, pause and resume, delete after a confirmation, and the
recent deliveries of each. Managers read; nobody else gets in. No request is ever sent:
receiver addresses are judged by validation alone."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from core import events, outbox
from tests.conftest import make_user
from webhooks import http, services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

LIST = reverse("webhooks:index")
GOOD = {"name": "CRM", "url": "https://crm.example.com/hooks", "event_types": ["lead.created"]}


@pytest.fixture(autouse=True)
def nothing_is_sent(monkeypatch, settings):
    """Production's address rule, and any attempt to send fails the test."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    def refuse(*args, **kwargs):
        raise AssertionError("a page sent an HTTP request")

    monkeypatch.setattr(http, "post", refuse)


@pytest.fixture
def integrator(db):
    return make_user("integrator", Role.INTEGRATIONS)


@pytest.fixture
def subscription(integrator):
    return services.webhook_subscription_create(
        name="CRM", url="https://crm.example.com/hooks", event_types=["lead.created"]
    )


def urls(subscription) -> dict[str, str]:
    return {
        action: reverse(f"webhooks:{action}", args=[subscription.pk])
        for action in ("detail", "deliveries", "edit", "pause", "resume", "delete")
    }


def emit(event_type: str, payload: dict) -> None:
    events.publish(event_type, [payload], occurred_at=timezone.now())
    outbox.process()


# -- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["rep", "marketer"])
def test_other_roles_neither_read_nor_manage_webhooks(client, request, person, subscription):
    client.force_login(request.getfixturevalue(person))
    pages = urls(subscription)
    for url in (LIST, pages["detail"], pages["deliveries"], pages["edit"], pages["delete"]):
        assert client.get(url).status_code == 403, url
    assert client.post(LIST, GOOD).status_code == 403
    for action in ("edit", "pause", "resume", "delete"):
        assert client.post(pages[action], GOOD).status_code == 403, action
    subscription.refresh_from_db()
    assert subscription.is_active and WebhookSubscription.objects.count() == 1


def test_a_manager_reads_the_subscriptions_but_does_not_manage_them(client, manager, subscription):
    client.force_login(manager)
    pages = urls(subscription)
    listed = client.get(LIST).content.decode()
    assert "CRM" in listed
    assert 'data-testid="webhook-form"' not in listed
    assert pages["edit"] not in listed and pages["delete"] not in listed
    detail = client.get(pages["detail"])
    assert detail.status_code == 200
    assert pages["edit"] not in detail.content.decode()
    assert client.get(pages["deliveries"]).status_code == 200
    assert client.post(LIST, {**GOOD, "name": "Mine"}).status_code == 403
    for action in ("edit", "delete"):
        assert client.get(pages[action]).status_code == 403, action
    for action in ("edit", "pause", "resume", "delete"):
        assert client.post(pages[action], GOOD).status_code == 403, action
    assert list(WebhookSubscription.objects.values_list("name", "is_active")) == [("CRM", True)]


def test_a_manager_holding_the_integrations_role_manages_them(client, manager, subscription):
    manager.groups.add(*make_user("x", Role.INTEGRATIONS).groups.all())
    client.force_login(manager)
    assert client.post(urls(subscription)["pause"]).status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_an_unknown_subscription_is_a_404(client, integrator):
    client.force_login(integrator)
    for action in ("detail", "edit", "delete"):
        assert client.get(reverse(f"webhooks:{action}", args=[987654])).status_code == 404


# -- create -------------------------------------------------------------------------------------


def test_the_signing_secret_is_shown_once_at_creation(client, integrator):
    client.force_login(integrator)
    response = client.post(LIST, {**GOOD, "event_types": ["lead.created", "sla.breached"]})
    assert response.status_code == 200
    created = WebhookSubscription.objects.get()
    assert (created.name, created.url) == ("CRM", "https://crm.example.com/hooks")
    assert created.event_types == ["lead.created", "sla.breached"]
    assert created.created_by == integrator and created.is_active
    assert len(created.secret) == 64
    assert created.secret in response.content.decode()
    for url in (LIST, created.get_absolute_url(), reverse("webhooks:edit", args=[created.pk])):
        assert created.secret not in client.get(url).content.decode(), url


def test_a_blank_name_is_called_webhook(client, integrator):
    client.force_login(integrator)
    client.post(LIST, {**GOOD, "name": "   "})
    assert WebhookSubscription.objects.get().name == "Webhook"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Give the receiver&#x27;s address"),
        ("ftp://example.com/hooks", "Give an http:// or https:// address with a host name."),
        ("javascript:alert(1)", "Give an http:// or https:// address with a host name."),
        ("https://", "Give an http:// or https:// address with a host name."),
        ("http://[::1", "Give an http:// or https:// address with a host name."),
        ("http://127.0.0.1:8000/hooks", "not sent to private or loopback addresses (127.0.0.1)"),
        ("http://10.0.0.5/hooks", "not sent to private or loopback addresses (10.0.0.5)"),
        ("http://169.254.169.254/latest", "private or loopback addresses (169.254.169.254)"),
        ("http://localhost/hooks", "not sent to private or loopback addresses (localhost)"),
        ("http://[::1]/hooks", "not sent to private or loopback addresses (::1)"),
        ("http://[::ffff:192.168.0.1]/x", "private or loopback addresses (::ffff:192.168.0.1)"),
        ("https://exa mple.com/hooks", "This is not a web address"),
        ("https://" + "a" * 600 + ".com/", "At most 500 characters."),
    ],
)
def test_a_receiver_address_that_is_not_public_http_is_refused_on_its_field(
    client, integrator, url, message
):
    client.force_login(integrator)
    response = client.post(LIST, {**GOOD, "url": url})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="error_1_id_url"' in html
    assert "<script>alert(1)" not in html
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        ([], "Choose at least one event to send."),
        (["lead.exploded"], "“lead.exploded” is not an event Smarketing sends."),
        (["<script>x</script>"], "“&lt;script&gt;x&lt;/script&gt;” is not an event"),
    ],
)
def test_events_must_be_chosen_from_the_list(client, integrator, event_types, message):
    client.force_login(integrator)
    response = client.post(LIST, {**GOOD, "event_types": event_types})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "<script>x" not in html
    assert not WebhookSubscription.objects.exists()


def test_a_receiver_address_with_markup_is_kept_as_text(client, integrator):
    client.force_login(integrator)
    url = 'https://example.com/"><script>alert(1)</script>'
    response = client.post(LIST, {**GOOD, "url": url})
    assert response.status_code == 200
    assert WebhookSubscription.objects.get().url == url
    html = client.get(LIST).content.decode()
    assert "https://example.com/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_a_name_too_long_is_refused(client, integrator):
    client.force_login(integrator)
    response = client.post(LIST, {**GOOD, "name": "x" * 121})
    assert response.status_code == 400
    assert "At most 120 characters." in response.content.decode()


def test_the_list_has_a_pinned_query_count(client, integrator, django_assert_num_queries):
    for number in range(5):
        services.webhook_subscription_create(
            name=f"Receiver {number}",
            url=f"https://r{number}.example.com/",
            event_types=["lead.created"],
        )
    client.force_login(integrator)
    client.get(LIST)
    # session, user, the user's and the role's permissions (read once per request, for
    # the buttons and the tabs), role names, bell count, the subscriptions with their
    # delivery counts
    with django_assert_num_queries(7):
        response = client.get(LIST)
    assert response.content.decode().count('data-testid="webhook-row"') == 5


# -- edit ---------------------------------------------------------------------------------------


def test_editing_changes_the_subscription_and_keeps_its_secret(client, integrator, subscription):
    secret = subscription.secret
    client.force_login(integrator)
    url = urls(subscription)["edit"]
    form = client.get(url).content.decode()
    assert 'value="https://crm.example.com/hooks"' in form
    response = client.post(
        url,
        {
            "name": "CRM (EU)",
            "url": "https://eu.crm.example.com/hooks",
            "event_types": ["sla.breached", "sla.warning"],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    assert (subscription.name, subscription.url) == ("CRM (EU)", "https://eu.crm.example.com/hooks")
    assert subscription.event_types == ["sla.breached", "sla.warning"]
    assert subscription.secret == secret


def test_an_edit_to_a_private_address_is_refused_and_changes_nothing(
    client, integrator, subscription
):
    client.force_login(integrator)
    response = client.post(
        urls(subscription)["edit"], {**GOOD, "name": "Inside", "url": "http://192.168.1.10/"}
    )
    assert response.status_code == 400
    assert "private or loopback addresses (192.168.1.10)" in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.name, subscription.url) == ("CRM", "https://crm.example.com/hooks")


# -- pause and resume ---------------------------------------------------------------------------


def test_a_paused_subscription_gets_no_new_events_until_resumed(client, integrator, subscription):
    client.force_login(integrator)
    pages = urls(subscription)
    assert client.get(pages["pause"]).status_code == 405
    response = client.post(pages["pause"], {"next": "list"})
    assert response["Location"] == LIST
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "Paused" in client.get(LIST).content.decode()
    emit("lead.created", {"lead": 1})
    assert not WebhookDelivery.objects.exists()

    response = client.post(pages["resume"])
    assert response["Location"] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    assert subscription.is_active
    emit("lead.created", {"lead": 2})
    assert [delivery.payload for delivery in WebhookDelivery.objects.all()] == [{"lead": 2}]


# -- delete -------------------------------------------------------------------------------------


def test_deleting_asks_first_then_removes_the_subscription_and_its_log(
    client, integrator, subscription
):
    emit("lead.created", {"lead": 1})
    client.force_login(integrator)
    url = urls(subscription)["delete"]
    confirm = client.get(url)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Delete the subscription “CRM”?" in html
    assert "(1 delivery)" in html
    assert WebhookSubscription.objects.exists()  # asking deletes nothing
    response = client.post(url)
    assert response["Location"] == LIST
    assert not WebhookSubscription.objects.exists()
    assert not WebhookDelivery.objects.exists()


# -- recent deliveries --------------------------------------------------------------------------


def test_each_subscription_shows_its_own_recent_deliveries_as_text(client, manager, subscription):
    other = services.webhook_subscription_create(
        name="Warehouse", url="https://dw.example.com/", event_types=["lead.created"]
    )
    now = timezone.now()
    mine = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="lead.created",
        payload={},
        occurred_at=now,
        status=WebhookDelivery.Status.RETRYING,
        attempts=1,
    )
    WebhookAttempt.objects.create(
        delivery=mine,
        number=1,
        at=now,
        status_code=500,
        duration_ms=12,
        error="HTTP 500",
        response_excerpt="<script>alert('receiver')</script>",
    )
    WebhookDelivery.objects.create(
        subscription=other, event_type="sla.breached", payload={}, occurred_at=now
    )
    client.force_login(manager)
    for url in (urls(subscription)["detail"], urls(subscription)["deliveries"]):
        html = client.get(url).content.decode()
        assert "HTTP 500 in 12 ms" in html
        assert "Waiting to retry" in html
        assert "&lt;script&gt;alert(&#x27;receiver&#x27;)&lt;/script&gt;" in html
        assert "<script>alert(" not in html
        assert "sla.breached" not in html  # the other subscription's
