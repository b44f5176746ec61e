"""Email copies of notifications written in bulk (the SLA sweep's digests) go out in one batch."""

import pytest
from django.core import mail

from accounts.models import Notification
from accounts.services import notification_emails_send
from accounts.tasks import notification_emails_send as notification_emails_task

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


def test_the_email_task_refuses_ids_that_are_not_integers():
    with pytest.raises(ValueError, match="list of integers"):
        notification_emails_task.run(["1", 2])
