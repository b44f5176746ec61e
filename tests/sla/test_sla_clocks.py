import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Notification
from core.errors import DomainError
from leads.models import Lead, StageTransition
from leads.services import lead_assign, lead_transition
from sla import services
from sla.clock_rules import Terms, deadlines
from sla.models import SLAClock, SLARecord, TeamCalendar
from sla.services import HandOff
from tests.leads.factories import LeadFactory, ProductFactory
from tests.sla.conftest import ny
from tests.sla.factories import BusinessCalendarFactory, SLAAgreementFactory, TeamCalendarFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def events(published):
    """The `sla.*` events published, as (event type, payload)."""
    seen = published("sla.warning", "sla.breached", "sla.exhausted")

    class Pairs:
        def __iter__(self):
            return iter([(event.topic, event.payload) for event in seen])

    return Pairs()


@pytest.fixture
def setup(office_calendar, agreement, rep, manager):
    return office_calendar, agreement


class TestStartingClocks:
    def test_a_friday_afternoon_hand_off_is_due_monday_at_one(self, setup, rep, hand_off):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        clock = SLAClock.objects.get(lead=lead)
        assert clock.owner == rep
        assert clock.status == "pending"
        assert clock.first_touch_due_at == ny(2026, 1, 12, 13)
        assert clock.warn_at == ny(2026, 1, 12, 12)  # 80% of 5 business hours
        assert clock.attempt_window_ends_at == ny(2026, 1, 25, 16)  # 16 calendar days

    def test_a_hand_off_on_a_holiday_starts_counting_at_the_next_opening(
        self, setup, rep, hand_off
    ):
        lead = hand_off(rep, ny(2026, 1, 19, 10))  # Martin Luther King Jr. Day
        assert SLAClock.objects.get(lead=lead).first_touch_due_at == ny(2026, 1, 20, 14)

    def test_the_owner_team_calendar_is_used_before_the_default(
        self, setup, rep, sales_team, hand_off
    ):
        paris = BusinessCalendarFactory(
            name="Paris office", time_zone="Europe/Paris", holiday_country="FR", is_default=False
        )
        TeamCalendarFactory(team=sales_team, calendar=paris)
        lead = hand_off(rep, ny(2026, 1, 9, 16))  # 22:00 in Paris
        clock = SLAClock.objects.get(lead=lead)
        assert clock.calendar == paris
        # Paris opens Monday 09:00 CET = 03:00 New York; 5 hours later is 08:00 New York.
        assert clock.first_touch_due_at == ny(2026, 1, 12, 8)

    def test_the_most_specific_agreement_covers_the_lead(
        self, setup, agreement, rep, hand_off, product
    ):
        specific = SLAAgreementFactory(name="Analytics SLA", first_touch_hours=2)
        specific.products.set([product])
        other = SLAAgreementFactory(name="Other product SLA", first_touch_hours=1)
        other.products.set([ProductFactory()])
        analytics_lead = hand_off(rep, ny(2026, 1, 6, 10))
        plain_lead = hand_off(rep, ny(2026, 1, 6, 10), product=None)
        assert SLAClock.objects.get(lead=analytics_lead).agreement == specific
        assert SLAClock.objects.get(lead=analytics_lead).first_touch_due_at == ny(2026, 1, 6, 12)
        assert SLAClock.objects.get(lead=plain_lead).agreement == agreement

    def test_one_batch_gives_each_hand_off_its_own_agreement_and_deadlines(
        self, setup, agreement, rep, product
    ):
        specific = SLAAgreementFactory(name="Analytics SLA", first_touch_hours=2)
        specific.products.set([product])
        tuesday, friday = ny(2026, 1, 6, 10), ny(2026, 1, 9, 16)
        cases = [(product, tuesday), (None, tuesday), (product, friday), (None, friday)]
        leads = [
            LeadFactory(owner=rep, stage="sql", product=lead_product, created_at=tuesday)
            for lead_product, _ in cases
        ]
        services.clocks_start(
            handoffs=[
                HandOff(lead.pk, rep.pk, at) for lead, (_, at) in zip(leads, cases, strict=True)
            ]
        )
        clocks = {clock.lead_id: clock for clock in SLAClock.objects.all()}
        assert [
            (clocks[lead.pk].agreement, clocks[lead.pk].first_touch_due_at) for lead in leads
        ] == [
            (specific, ny(2026, 1, 6, 12)),
            (agreement, ny(2026, 1, 6, 15)),
            (specific, ny(2026, 1, 12, 10)),
            (agreement, ny(2026, 1, 12, 13)),
        ]

    def test_a_hand_off_no_agreement_covers_starts_no_clock(self, office_calendar, rep, hand_off):
        lead = hand_off(rep, ny(2026, 1, 6, 10))
        assert not SLAClock.objects.filter(lead=lead).exists()

    def test_a_repeated_hand_off_signal_starts_one_clock(self, setup, rep, hand_off):
        lead = hand_off(rep, ny(2026, 1, 6, 10))
        services.clocks_start(handoffs=[HandOff(lead.pk, rep.pk, lead.handed_off_at)])
        assert SLAClock.objects.filter(lead=lead).count() == 1

    def test_a_bulk_hand_off_costs_the_same_queries_for_5_or_200_leads(
        self, setup, rep, django_assert_num_queries, product
    ):
        def batch(size):
            at = dt.datetime(2026, 1, 6, 15, tzinfo=UTC)
            leads = [
                LeadFactory(owner=rep, stage="sql", product=product, created_at=at)
                for _ in range(size)
            ]
            return [HandOff(lead.pk, rep.pk, at) for lead in leads]

        small, large = batch(5), batch(200)
        at = dt.datetime(2026, 1, 6, 15, tzinfo=UTC)
        with CaptureQueriesContext(connection) as few:
            services.clocks_start(handoffs=small, now=at)
        with CaptureQueriesContext(connection) as many:
            services.clocks_start(handoffs=large, now=at)
        assert len(few) == len(many) == 19
        assert SLAClock.objects.count() == 205


class TestAttempts:
    def test_a_first_attempt_before_the_deadline_meets_the_clock(
        self, setup, rep, hand_off, log_attempt
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(lead, rep, ny(2026, 1, 12, 10, 30))
        clock = SLAClock.objects.get(lead=lead)
        assert clock.status == "met"
        assert clock.first_touch_at == ny(2026, 1, 12, 10, 30)
        assert clock.response_business_seconds == int(2.5 * 3600)  # Fri 1 h + Mon 1.5 h
        assert clock.attempts == 1

    def test_a_late_first_attempt_keeps_the_breach_and_records_the_real_response(
        self, setup, rep, hand_off, log_attempt
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        swept = services.clocks_sweep(now=ny(2026, 1, 12, 13, 1))
        assert swept.breached == [SLAClock.objects.get(lead=lead).pk]
        log_attempt(lead, rep, ny(2026, 1, 13, 9, 30))
        clock = SLAClock.objects.get(lead=lead)
        assert clock.status == "breached"
        assert clock.response_business_seconds == int(9.5 * 3600)
        assert SLARecord.objects.filter(clock=clock, kind="breach").count() == 1

    def test_a_late_attempt_logged_before_the_sweep_breaches_the_clock_once(
        self, setup, rep, hand_off, log_attempt
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(lead, rep, ny(2026, 1, 12, 15))
        clock = SLAClock.objects.get(lead=lead)
        assert clock.status == "breached"
        assert services.clocks_sweep(now=ny(2026, 1, 12, 16)).breached == []
        assert SLARecord.objects.filter(clock=clock, kind="breach").count() == 1

    def test_a_fifth_attempt_in_16_days_is_recorded_and_flagged_as_over_contact(
        self, setup, rep, hand_off, log_attempt
    ):
        lead = hand_off(rep, ny(2026, 1, 5, 10))
        for day in range(5):
            log_attempt(lead, rep, ny(2026, 1, 5 + day, 11), outcome="connected")
        clock = SLAClock.objects.get(lead=lead)
        assert lead.attempts.count() == 5
        assert (clock.attempts, clock.over_contact, clock.exhausted_at) == (5, True, None)

    def test_four_attempts_without_progress_hand_the_lead_back_to_marketing_once(
        self, setup, rep, hand_off, log_attempt, events
    ):
        lead = hand_off(rep, ny(2026, 1, 5, 10))
        for day in range(4):
            log_attempt(lead, rep, ny(2026, 1, 5 + day, 11))
        lead.refresh_from_db()
        clock = SLAClock.objects.get(lead=lead)
        assert lead.stage == "recycled"
        assert clock.exhausted_at is not None and clock.closed_at is not None
        recycled = StageTransition.objects.filter(lead=lead, to_stage="recycled")
        assert [t.reason for t in recycled] == ["sla_exhausted"]
        log_attempt(lead, rep, ny(2026, 1, 9, 11))  # a fifth: recorded, flagged, nothing rerun
        clock.refresh_from_db()
        assert (clock.attempts, clock.over_contact) == (5, True)
        assert recycled.count() == 1
        assert [e for e, _ in events if e == "sla.exhausted"] == ["sla.exhausted"]

    def test_a_marketers_email_is_not_a_sales_attempt(
        self, setup, rep, marketer, hand_off, log_attempt
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(lead, marketer, ny(2026, 1, 12, 10), channel="email")
        clock = SLAClock.objects.get(lead=lead)
        assert (clock.status, clock.attempts) == ("pending", 0)

    def test_a_managers_attempt_counts(self, setup, rep, manager, hand_off, log_attempt):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(lead, manager, ny(2026, 1, 12, 10))
        assert SLAClock.objects.get(lead=lead).status == "met"


class TestLifecycle:
    def test_reassigning_a_lead_keeps_its_clock(
        self,
        setup,
        rep,
        other_rep,
        manager,
        hand_off,
        log_attempt,
        django_capture_on_commit_callbacks,
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        before = SLAClock.objects.get(lead=lead)
        with django_capture_on_commit_callbacks(execute=True):
            lead_assign(lead=lead, owner=other_rep, actor=manager, now=ny(2026, 1, 12, 9))
        after = SLAClock.objects.get(lead=lead)
        assert after.pk == before.pk
        assert after.owner == other_rep
        assert after.first_touch_due_at == before.first_touch_due_at
        log_attempt(lead, other_rep, ny(2026, 1, 12, 10))
        assert SLAClock.objects.get(lead=lead).status == "met"

    def test_a_lead_leaving_the_sales_stages_closes_its_clock_and_it_never_breaches(
        self, setup, rep, hand_off, django_capture_on_commit_callbacks
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        with django_capture_on_commit_callbacks(execute=True):
            lead_transition(
                lead=lead, to_stage="disqualified", reason="bad fit", at=ny(2026, 1, 12, 9)
            )
        clock = SLAClock.objects.get(lead=lead)
        assert clock.closed_at == ny(2026, 1, 12, 9)
        assert services.clocks_sweep(now=ny(2026, 2, 1)).breached == []
        clock.refresh_from_db()
        assert clock.status == "pending"

    @pytest.mark.parametrize("sweep_first", [True, False])
    def test_a_clock_closed_after_its_due_instant_untouched_is_breached_whatever_the_order(
        self, setup, rep, hand_off, django_capture_on_commit_callbacks, sweep_first
    ):
        """Due Monday 13:00; the lead is disqualified on Tuesday with no attempt. Swept
        before or after the exit (or never, as after a sweep outage), the clock is breached
        at its due instant."""
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        if sweep_first:
            services.clocks_sweep(now=ny(2026, 1, 12, 14))
        with django_capture_on_commit_callbacks(execute=True):
            lead_transition(
                lead=lead, to_stage="disqualified", reason="bad fit", at=ny(2026, 1, 13, 9)
            )
        services.clocks_sweep(now=ny(2026, 2, 1))
        clock = SLAClock.objects.get(lead=lead)
        assert (clock.status, clock.breached_at) == ("breached", ny(2026, 1, 12, 13))
        assert clock.closed_at == ny(2026, 1, 13, 9)
        assert SLARecord.objects.filter(clock=clock, kind="breach").count() == 1

    def test_a_skip_through_sql_is_a_hand_off_with_its_clock(
        self, setup, rep, django_capture_on_commit_callbacks
    ):
        lead = LeadFactory(owner=rep, created_at=ny(2026, 1, 5, 9))
        with django_capture_on_commit_callbacks(execute=True):
            lead_transition(lead=lead, to_stage="mql", at=ny(2026, 1, 6, 9))
            lead_transition(
                lead=lead, to_stage="recycled", reason="not ready", at=ny(2026, 1, 7, 9)
            )
            lead_transition(lead=lead, to_stage="opportunity", at=ny(2026, 1, 9, 16))
        clock = SLAClock.objects.get(lead=lead)
        assert clock.handoff_at == ny(2026, 1, 9, 16)
        assert clock.first_touch_due_at == ny(2026, 1, 12, 13)

    def test_moving_to_opportunity_keeps_the_clock_and_the_window_end_does_not_recycle(
        self, setup, rep, hand_off, log_attempt, django_capture_on_commit_callbacks
    ):
        lead = hand_off(rep, ny(2026, 1, 5, 10))
        log_attempt(lead, rep, ny(2026, 1, 5, 11), outcome="meeting_booked")
        with (
            time_machine.travel(ny(2026, 1, 6, 9), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            lead_transition(lead=lead, to_stage="opportunity", at=ny(2026, 1, 6, 9))
        result = services.clocks_sweep(now=ny(2026, 2, 1))
        clock = SLAClock.objects.get(lead=lead)
        assert result.closed == [clock.pk] and result.exhausted == []
        assert Lead.objects.get(pk=lead.pk).stage == "opportunity"


class TestVersions:
    def test_agreement_edits_apply_to_new_clocks_only(self, setup, agreement, rep, hand_off):
        old_lead = hand_off(rep, ny(2026, 1, 6, 10))
        current = services.agreement_update(agreement=agreement, data={"first_touch_hours": 2})
        assert current.pk != agreement.pk and current.version == 2
        agreement.refresh_from_db()
        assert agreement.status == "superseded"
        new_lead = hand_off(rep, ny(2026, 1, 6, 10))
        old_clock, new_clock = (SLAClock.objects.get(lead=lead) for lead in (old_lead, new_lead))
        assert (old_clock.agreement, old_clock.first_touch_due_at) == (
            agreement,
            ny(2026, 1, 6, 15),
        )
        assert (new_clock.agreement, new_clock.first_touch_due_at) == (current, ny(2026, 1, 6, 12))

    def test_an_unused_agreement_is_edited_in_place(self, agreement):
        edited = services.agreement_update(agreement=agreement, data={"max_attempts": 6})
        assert (edited.pk, edited.version, edited.max_attempts) == (agreement.pk, 1, 6)

    def test_calendar_edits_apply_to_new_clocks_only_and_responses_use_the_old_schedule(
        self, setup, office_calendar, rep, sales_team, hand_off, log_attempt
    ):
        TeamCalendarFactory(team=sales_team, calendar=office_calendar)
        old_lead = hand_off(rep, ny(2026, 1, 9, 16))
        longer_days = {str(day): [["08:00", "18:00"]] for day in range(5)}
        current = services.calendar_update(calendar=office_calendar, data={"hours": longer_days})
        assert current.version == 2 and current.family == office_calendar.family
        assert TeamCalendar.objects.get(team=sales_team).calendar == current
        new_lead = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(old_lead, rep, ny(2026, 1, 12, 10))
        old_clock, new_clock = (SLAClock.objects.get(lead=lead) for lead in (old_lead, new_lead))
        assert old_clock.calendar == office_calendar
        assert old_clock.first_touch_due_at == ny(2026, 1, 12, 13)
        assert old_clock.response_business_seconds == 2 * 3600  # 9–17 hours, not 8–18
        assert new_clock.first_touch_due_at == ny(2026, 1, 12, 11)  # Fri 2 h + Mon 3 h

    def test_a_used_calendar_cannot_be_deleted(self, setup, office_calendar, rep, hand_off):
        hand_off(rep, ny(2026, 1, 9, 16))
        with pytest.raises(DomainError, match="kept so their history stays true"):
            services.calendar_delete(calendar=office_calendar)

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known IANA time zone"),
            ({"hours": {"0": [["17:00", "09:00"]]}}, "hours", "must close after it opens"),
            ({"hours": {"8": [["09:00", "17:00"]]}}, "hours", "not a weekday"),
            ({"hours": {"0": [["nine", "17:00"]]}}, "hours", "not a time like 09:00"),
            ({"custom_holidays": ["2026-13-01"]}, "custom_holidays", "not a date"),
            ({"holiday_country": "QQ"}, "holiday_country", "Unknown holiday country"),
        ],
    )
    def test_a_bad_calendar_is_refused_with_a_field_message(self, data, field, message):
        values = {"name": "Office", "time_zone": "UTC", "hours": {"0": [["09:00", "17:00"]]}}
        with pytest.raises(DomainError, match=message) as refused:
            services.calendar_create(data={**values, **data})
        assert refused.value.field == field


class TestSweep:
    def test_the_sweep_warns_then_breaches_each_clock_once_and_tells_the_right_people(
        self, setup, rep, manager, hand_off, events, django_capture_on_commit_callbacks
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        clock = SLAClock.objects.get(lead=lead)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.clocks_sweep(now=ny(2026, 1, 12, 11, 59)).warned == []
            assert services.clocks_sweep(now=ny(2026, 1, 12, 12)).warned == [clock.pk]
            assert services.clocks_sweep(now=ny(2026, 1, 12, 12, 30)).warned == []
            assert services.clocks_sweep(now=ny(2026, 1, 12, 13)).breached == [clock.pk]
            again = services.clocks_sweep(now=ny(2026, 1, 12, 13, 1))
        assert again.breached == again.warned == []
        assert list(Notification.objects.filter(user=rep).values_list("kind", flat=True)) == [
            "sla_breached",
            "sla_warning",
        ]
        assert Notification.objects.filter(user=manager, kind="sla_breached").count() == 1
        sla_events = [(event, payload) for event, payload in events if event.startswith("sla.")]
        assert [event for event, _ in sla_events] == ["sla.warning", "sla.breached"]
        assert sla_events[1][1]["lead"] == lead.pk

    def test_a_clock_due_for_warning_and_breach_at_once_is_only_breached(
        self, setup, rep, hand_off
    ):
        lead = hand_off(rep, ny(2026, 1, 9, 16))
        result = services.clocks_sweep(now=ny(2026, 1, 20))
        assert result.warned == [] and len(result.breached) == 1
        assert not SLARecord.objects.filter(clock__lead=lead, kind="warning").exists()

    def test_the_window_end_hands_the_lead_back_to_marketing_once(self, setup, rep, hand_off):
        lead = hand_off(rep, ny(2026, 1, 5, 10))
        first = services.clocks_sweep(now=ny(2026, 1, 21, 10, 1))
        second = services.clocks_sweep(now=ny(2026, 1, 21, 10, 2))
        assert len(first.exhausted) == 1 and second.exhausted == []
        lead.refresh_from_db()
        assert lead.stage == "recycled"
        assert StageTransition.objects.filter(lead=lead, reason="sla_exhausted").count() == 1

    def test_a_sweep_costs_the_same_queries_for_3_or_60_due_clocks(
        self, setup, rep, django_assert_num_queries, product
    ):
        at = dt.datetime(2026, 1, 6, 15, tzinfo=UTC)

        def due_clocks(size):
            leads = [
                LeadFactory(owner=rep, stage="opportunity", created_at=at) for _ in range(size)
            ]
            services.clocks_start(handoffs=[HandOff(lead.pk, rep.pk, at) for lead in leads], now=at)
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(stage="sql")

        due_clocks(3)
        with CaptureQueriesContext(connection) as small:
            services.clocks_sweep(now=at + dt.timedelta(hours=4))
        SLAClock.objects.update(closed_at=at)
        due_clocks(60)
        with CaptureQueriesContext(connection) as large:
            services.clocks_sweep(now=at + dt.timedelta(hours=4))
        # Includes the one read of the leads a digest names.
        assert len(small) == len(large) == 16

    def test_the_sweep_reads_due_clocks_through_the_partial_index(self, setup):
        from sla.models import SLAClock as Clock

        query = Clock.objects.filter(
            status="pending", closed_at__isnull=True, first_touch_due_at__lte=ny(2026, 1, 1)
        ).order_by("first_touch_due_at")[:500]
        sql, params = query.values_list("id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
        assert "sla_clock_due_pending" in plan


def test_deadlines_of_the_seed_terms_follow_the_specification_example():
    from sla.clock_rules import calendar_engine

    calendar = calendar_engine(
        cache_key=None,
        time_zone="America/New_York",
        hours={str(d): [["09:00", "17:00"]] for d in range(5)},
    )
    terms = Terms(first_touch_hours=5, max_attempts=4, attempt_window_days=16, warning_share=0.8)
    due = deadlines(calendar, ny(2026, 1, 9, 16), terms)
    assert due.first_touch_due_at == ny(2026, 1, 12, 13)
