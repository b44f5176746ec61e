"""Email copies of notifications written in bulk (the SLA sweep's digests) go out in one batch."""

import pytest
from django.core import mail

from accounts.models import Notification
from accounts.services import notification_emails_send, notification_send
from core import outbox
from core.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_each_notified_person_with_an_address_gets_one_email(rep, manager, django_user_model):
    nobody = django_user_model.objects.create_user(username="no_address", email="")
    rows = Notification.objects.bulk_create(
        [
            Notification(
                user=rep, kind="sla_breached", title="3 breaches", body="See", url="/sla/"
            ),
            Notification(user=manager, kind="sla_breached", title="3 breaches", body="See"),
            Notification(user=nobody, kind="sla_breached", title="3 breaches", body="See"),
        ]
    )

    sent = notification_emails_send(notification_ids=[row.pk for row in rows])

    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "manager@example.com",
        "rep@example.com",
    ]
    to_rep = next(message for message in mail.outbox if message.to == ["rep@example.com"])
    assert to_rep.subject == "3 breaches" and to_rep.body == "See\n\n/sla/"


def test_a_notification_is_emailed_by_the_outbox_after_commit_and_not_in_the_request(
    rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(users=[rep], kind="lead_assigned", title="New lead", url="/leads/")
    assert mail.outbox == []
    row = OutboxMessage.objects.get(handler="accounts.notification_emails")
    outbox.process()
    assert [message.to for message in mail.outbox] == [["rep@example.com"]]
    assert not OutboxMessage.objects.filter(pk=row.pk).exists()


def test_a_mail_server_outage_keeps_the_email_for_a_later_try(rep, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
        }
    }
    notification_send(users=[rep], kind="lead_assigned", title="New lead")
    result = outbox.process()
    assert (result.done, result.failed) == (0, 1)
    row = OutboxMessage.objects.get(handler="accounts.notification_emails")
    assert row.attempts == 1 and "Error" in row.last_error and row.available_at > row.created_at
