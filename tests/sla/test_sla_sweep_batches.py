"""What a sweep batch tells people and integrations: the digests per person and the event
payloads the claim statement writes itself (they must match the Python definition)."""

import datetime as dt

import pytest

from accounts.models import Notification, Role
from core import subscriptions
from sla import services
from sla.models import SLAClock, SLARecord
from sla.services import HandOff
from tests.conftest import make_user
from tests.leads.factories import LeadFactory
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db


@pytest.fixture
def batches():
    """The `sla.*` event batches published, as (event type, payloads), one per batch."""
    seen = []

    def _receiver(batch):
        seen.append((batch[0].topic, [event.payload for event in batch]))

    subscriptions.subscribe(
        "sla.breached",
        "sla.warning",
        "sla.exhausted",
        name="tests.sla-batches",
        handler=_receiver,
        in_transaction=True,
    )
    yield seen
    subscriptions.unsubscribe("tests.sla-batches")


@pytest.fixture
def setup(office_calendar, agreement, product):
    return office_calendar, agreement


def handed_off(owner, at, count, product):
    """`count` leads handed off to `owner` at `at`, their clocks started."""
    leads = [
        LeadFactory(owner=owner, stage="sql", product=product, created_at=at - dt.timedelta(days=1))
        for _ in range(count)
    ]
    services.clocks_start(handoffs=[HandOff(lead.pk, owner.pk, at) for lead in leads], now=at)
    return leads


def sweep(at, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return services.clocks_sweep(now=at, **kwargs)


class TestEventPayloads:
    @pytest.mark.parametrize(
        "microseconds", [0, 500_000, 123_456, 10], ids=["whole", "trailing", "full", "leading"]
    )
    def test_breach_events_carry_the_clock_as_python_writes_it(
        self, setup, rep, product, batches, django_capture_on_commit_callbacks, microseconds
    ):
        at = ny(2026, 1, 9, 10, 0, 0, microseconds)
        (lead,) = handed_off(rep, at, 1, product)
        SLAClock.objects.filter(lead=lead).update(
            first_touch_at=at + dt.timedelta(days=3), exhausted_at=None
        )
        result = sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        clock = SLAClock.objects.get(lead=lead)
        assert result.breached == [clock.pk]
        ((event_type, (payload,)),) = batches
        assert event_type == "sla.breached"
        expected = services.clock_payload(
            SLAClock.objects.filter(pk=clock.pk).values_list(*services.EVENT_FIELDS.values())[0]
        )
        assert payload == expected
        assert payload["status"] == "breached"
        assert payload["handoff_at"] == at.astimezone(dt.UTC).isoformat()
        assert payload["exhausted_at"] is None
        assert dt.datetime.fromisoformat(payload["first_touch_at"]) == clock.first_touch_at

    def test_a_batch_of_events_comes_in_deadline_order(
        self, setup, rep, product, batches, django_capture_on_commit_callbacks
    ):
        late = handed_off(rep, ny(2026, 1, 9, 11), 2, product)
        early = handed_off(rep, ny(2026, 1, 9, 10), 2, product)
        sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        ((_, payloads),) = batches
        assert [p["lead"] for p in payloads] == [lead.pk for lead in early + late]


class TestDigests:
    def test_each_person_gets_one_digest_counting_their_leads_once(
        self, setup, rep, other_rep, manager, product, django_capture_on_commit_callbacks
    ):
        handed_off(rep, ny(2026, 1, 9, 10), 3, product)
        (alone,) = handed_off(other_rep, ny(2026, 1, 9, 11), 1, product)
        handed_off(manager, ny(2026, 1, 9, 12), 2, product)  # the manager owns leads too
        result = sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        assert len(result.breached) == 6
        titles = dict(
            Notification.objects.filter(kind="sla_breached").values_list("user__username", "title")
        )
        assert titles == {
            "rep": "First-touch SLA breached on 3 leads",
            "other_rep": f"First-touch SLA breached: {alone}",
            "manager": "First-touch SLA breached on 6 leads",
        }
        # The digest names the earliest deadline among the person's leads, in their zone.
        bodies = dict(
            Notification.objects.filter(kind="sla_breached").values_list("user__username", "body")
        )
        assert bodies["manager"] == (
            "The first attempt was due at Fri 09 Jan 15:00 (America/New_York) and had not "
            "been logged."
        )
        assert bodies["other_rep"].startswith("The first attempt was due at Fri 09 Jan 16:00")

    def test_a_person_with_an_unknown_time_zone_reads_the_deadline_in_utc(
        self, setup, sales_team, product, django_capture_on_commit_callbacks
    ):
        drifter = make_user("drifter", Role.SALES, sales_team, time_zone="Mars/Olympus")
        handed_off(drifter, ny(2026, 1, 9, 10), 2, product)
        sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        (notification,) = Notification.objects.filter(user=drifter)
        assert "Fri 09 Jan 20:00 (Mars/Olympus)" in notification.body

    def test_a_sweep_split_in_batches_records_each_clock_once_and_digests_per_batch(
        self, setup, rep, manager, product, batches, django_capture_on_commit_callbacks
    ):
        handed_off(rep, ny(2026, 1, 9, 10), 5, product)
        result = sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks, batch_size=2)
        assert len(result.breached) == len(set(result.breached)) == 5
        assert SLARecord.objects.filter(kind="breach").count() == 5
        assert [len(payloads) for _, payloads in batches] == [2, 2, 1]
        assert Notification.objects.filter(user=rep).count() == 3
        assert Notification.objects.filter(user=manager).count() == 3


def _told() -> list[tuple]:
    return list(
        Notification.objects.order_by("pk").values_list(
            "user__username", "kind", "title", "body", "url", "occurred_at", "items"
        )
    )


def test_the_digests_are_the_same_whether_the_events_reach_someone_or_not(
    setup, rep, other_rep, manager, product, django_capture_on_commit_callbacks
):
    """Without a listener the claim statement sums the batch up per owner itself; with one
    the digests come from the events' rows: both must tell everyone the same."""
    # Interleaved deadlines across owners, more leads than a digest names, the manager's own.
    for hour in (10, 11, 12):
        handed_off(rep, ny(2026, 1, 9, hour), 25, product)
        handed_off(other_rep, ny(2026, 1, 9, hour, 30), 1, product)
    handed_off(manager, ny(2026, 1, 9, 9), 2, product)
    last_warning = SLAClock.objects.order_by("-warn_at")[0].warn_at
    # A sweep at the last warning breaches some clocks and warns the others; the next one,
    # days later, breaches those.
    moments = (last_warning, ny(2026, 1, 13))

    def sweeps():
        return [sweep(at, django_capture_on_commit_callbacks, batch_size=60) for at in moments]

    quiet = sweeps()
    without_listener = _told()
    Notification.objects.all().delete()
    SLARecord.objects.all().delete()
    SLAClock.objects.update(status="pending", breached_at=None, warned_at=None)
    subscriptions.subscribe(
        "sla.breached",
        "sla.warning",
        name="tests.sla-listener",
        handler=lambda batch: None,
        in_transaction=True,
    )
    try:
        heard = sweeps()
    finally:
        subscriptions.unsubscribe("tests.sla-listener")
    assert [(r.breached, r.warned) for r in heard] == [(r.breached, r.warned) for r in quiet]
    assert quiet[0].breached and len(quiet[0].warned) == 26  # the last hour's hand-offs
    assert len(quiet[0].breached) + len(quiet[1].breached) == 80
    assert _told() == without_listener
    # The manager's digest of a whole batch counts more leads than it names (fifty), of
    # both reps and their own.
    (user, title, items), *_ = [
        (user, title, items)
        for user, kind, title, *_rest, items in without_listener
        if kind == "sla_breached" and user == "manager"
    ]
    assert title == "First-touch SLA breached on 54 leads" and len(items) == 50
    assert without_listener[0][0] == "manager"  # the earliest deadline is the manager's own


class TestRecords:
    def test_deleting_a_lead_deletes_its_clocks_and_their_records(
        self, setup, rep, product, django_capture_on_commit_callbacks
    ):
        gone, kept = handed_off(rep, ny(2026, 1, 9, 10), 2, product)
        sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        assert SLARecord.objects.count() == 2
        gone.delete()
        assert list(SLARecord.objects.values_list("clock__lead", flat=True)) == [kept.pk]
        assert not SLAClock.objects.filter(lead_id=gone.pk).exists()

    def test_deleting_a_user_keeps_the_records_of_their_clocks_without_an_owner(
        self, setup, sales_team, product, django_capture_on_commit_callbacks
    ):
        leaver = make_user("leaver", Role.SALES, sales_team)
        handed_off(leaver, ny(2026, 1, 9, 10), 2, product)
        sweep(ny(2026, 1, 13), django_capture_on_commit_callbacks)
        assert SLARecord.objects.filter(owner=leaver).count() == 2
        leaver.delete()
        assert list(SLARecord.objects.values_list("kind", "owner")) == [
            ("breach", None),
            ("breach", None),
        ]
