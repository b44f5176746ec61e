"""Managers see the reactions the product still owes, and retry the failing ones."""

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from core.outbox import FAILING_AFTER

pytestmark = pytest.mark.django_db


def failing_row(attempts=FAILING_AFTER) -> OutboxMessage:
    now = timezone.now()
    return OutboxMessage.objects.create(
        handler="sla.clocks",
        topic="lead.handed_off",
        payloads=[{"lead": 1, "owner": 2, "at": now.isoformat()}],
        occurred_at=now,
        created_at=now,
        available_at=now + timezone.timedelta(hours=1),
        attempts=attempts,
        last_error="OperationalError: <script>alert(1)</script>",
    )


def test_a_manager_sees_a_failing_reaction_and_retries_it(client, manager):
    row = failing_row()
    failing_row(attempts=1)  # waiting, not failing yet
    client.force_login(manager)
    page = client.get("/reports/operations/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="outbox-failing">1<' in html and 'data-testid="outbox-waiting">2<' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    response = client.post("/reports/operations/", {"retry": [str(row.pk), "x"]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.available_at <= timezone.now()


@pytest.mark.parametrize("who", ["rep", "marketer"])
def test_other_roles_do_not_see_operations(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/reports/operations/").status_code == 403
    assert client.post("/reports/operations/", {"retry": ["1"]}).status_code == 403
