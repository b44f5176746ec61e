import pytest

from sla.models import BusinessCalendar, SLAAgreement, SLAClock
from tests.sla.conftest import ny

pytestmark = pytest.mark.django_db

OFFICE = {
    "name": "Lisbon office",
    "time_zone": "Europe/Lisbon",
    "hours": {str(day): [["09:00", "13:00"], ["14:00", "18:00"]] for day in range(5)},
    "holiday_country": "PT",
    "custom_holidays": ["2026-12-24"],
}


class TestCalendars:
    def test_a_manager_creates_a_calendar_for_a_team(self, api_as, manager, sales_team):
        response = api_as(manager).post(
            "/api/v1/sla/calendars/", {**OFFICE, "teams": [sales_team.pk]}, format="json"
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["teams"] == [sales_team.pk]
        assert body["version"] == 1
        assert body["custom_holidays"] == ["2026-12-24"]

    def test_a_rep_reads_calendars_but_cannot_change_them(self, api_as, rep, office_calendar):
        client = api_as(rep)
        assert client.get("/api/v1/sla/calendars/").json()["count"] == 1
        response = client.patch(
            f"/api/v1/sla/calendars/{office_calendar.pk}/", {"name": "x"}, format="json"
        )
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"time_zone": "Atlantis/Capital"}, "time_zone"),
            ({"hours": {"0": [["18:00", "09:00"]]}}, "hours"),
            ({"hours": "nine to five"}, "hours"),
            ({"custom_holidays": ["someday"]}, "custom_holidays"),
            ({"holiday_country": "ZZ"}, "holiday_country"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, api_as, manager, change, field):
        response = api_as(manager).post(
            "/api/v1/sla/calendars/", {**OFFICE, **change}, format="json"
        )
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not BusinessCalendar.objects.exists()

    def test_editing_a_used_calendar_answers_a_new_version(
        self, api_as, manager, office_calendar, agreement, rep, hand_off
    ):
        hand_off(rep, ny(2026, 1, 9, 16))
        response = api_as(manager).patch(
            f"/api/v1/sla/calendars/{office_calendar.pk}/",
            {"hours": {"0": [["08:00", "12:00"]]}},
            format="json",
        )
        assert response.status_code == 200
        body = response.json()
        assert body["id"] != office_calendar.pk and body["version"] == 2
        listed = api_as(manager).get("/api/v1/sla/calendars/").json()["results"]
        assert [row["id"] for row in listed] == [body["id"]]
        gone = api_as(manager).delete(f"/api/v1/sla/calendars/{body['id']}/")
        assert gone.status_code == 400
        assert "kept so their history stays true" in gone.json()["detail"]


class TestAgreements:
    def test_a_manager_writes_an_agreement_with_its_commitments(self, api_as, manager, product):
        response = api_as(manager).post(
            "/api/v1/sla/agreements/",
            {
                "name": "Analytics SLA",
                "effective_from": "2026-01-01",
                "products": [product.pk],
                "goals": "75 SQLs per product per month.",
                "first_touch_hours": "4",
                "max_attempts": 4,
                "attempt_window_days": 16,
                "warning_share": "0.75",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert SLAAgreement.objects.get().products.get() == product

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"warning_share": "1.5"}, "warning_share"),
            ({"max_attempts": 0}, "max_attempts"),
            ({"effective_until": "2025-01-01"}, "non_field_errors"),
            ({"commitment_stage": "customer"}, "commitment_stage"),
            ({"status": "superseded"}, "status"),
        ],
    )
    def test_bad_terms_are_a_400(self, api_as, manager, change, field):
        response = api_as(manager).post(
            "/api/v1/sla/agreements/",
            {"name": "SLA", "effective_from": "2026-01-01", **change},
            format="json",
        )
        assert response.status_code == 400, response.json()
        assert field in response.json()["errors"]

    def test_a_marketer_cannot_write_an_agreement(self, api_as, marketer):
        response = api_as(marketer).post(
            "/api/v1/sla/agreements/",
            {"name": "SLA", "effective_from": "2026-01-01"},
            format="json",
        )
        assert response.status_code == 403


class TestClocks:
    def test_clocks_filter_by_status_owner_and_lead(
        self, api_as, office_calendar, agreement, rep, other_rep, hand_off
    ):
        mine = hand_off(rep, ny(2026, 1, 9, 16))
        hand_off(other_rep, ny(2026, 1, 9, 16))
        client = api_as(rep)
        rows = client.get(f"/api/v1/sla/clocks/?owner={rep.pk}").json()["results"]
        assert [row["lead"] for row in rows] == [mine.pk]
        assert rows[0]["first_touch_due_at"] == "2026-01-12T18:00:00Z"
        assert client.get("/api/v1/sla/clocks/?status=met").json()["count"] == 0
        assert client.get(f"/api/v1/sla/clocks/?lead={mine.pk}").json()["count"] == 1
        bad = client.get("/api/v1/sla/clocks/?status=late")
        assert bad.status_code == 400 and "status" in bad.json()["errors"]

    def test_clocks_filter_by_product_and_hand_off_period(
        self, api_as, office_calendar, agreement, manager, rep, hand_off
    ):
        from tests.leads.factories import ProductFactory

        january = hand_off(rep, ny(2026, 1, 9, 16))
        february = hand_off(rep, ny(2026, 2, 9, 16), product=ProductFactory(name="Other"))
        client = api_as(manager)

        def leads(query: str) -> list[int]:
            response = client.get(f"/api/v1/sla/clocks/?{query}")
            assert response.status_code == 200, response.json()
            return [row["lead"] for row in response.json()["results"]]

        assert leads(f"product={january.product_id}") == [january.pk]
        assert leads("handoff_after=2026-02-01T00:00:00Z") == [february.pk]
        assert leads("handoff_before=2026-02-01T00:00:00Z") == [january.pk]
        assert leads(f"agreement={agreement.pk}&status=pending") == [january.pk, february.pk]
        bad = client.get("/api/v1/sla/clocks/?handoff_after=yesterday")
        assert bad.status_code == 400 and "handoff_after" in bad.json()["errors"]

    def test_a_rep_sees_the_clocks_of_the_leads_they_may_see_only(
        self, api_as, office_calendar, agreement, rep, other_rep, outsider_rep, hand_off
    ):
        hand_off(rep, ny(2026, 1, 9, 16))
        hand_off(other_rep, ny(2026, 1, 9, 16))
        assert api_as(rep).get("/api/v1/sla/clocks/").json()["count"] == 2  # team-mates
        outsider = api_as(outsider_rep)
        assert outsider.get("/api/v1/sla/clocks/").json()["count"] == 0
        clock = SLAClock.objects.filter(owner=rep).get()
        assert outsider.get(f"/api/v1/sla/clocks/{clock.pk}/").status_code == 404

    def test_the_clock_list_has_a_fixed_query_count(
        self, api_as, office_calendar, agreement, rep, hand_off, django_assert_num_queries
    ):
        for hour in (10, 11, 12):
            hand_off(rep, ny(2026, 1, 6, hour))
        client = api_as(rep)
        # the token and its user, the viewer's role (which clocks they may see), the count,
        # the page
        with django_assert_num_queries(4):
            assert client.get("/api/v1/sla/clocks/").json()["count"] == 3


class TestCompliance:
    def test_compliance_groups_by_owner_with_met_rate_and_response_percentiles(
        self, api_as, office_calendar, agreement, rep, other_rep, manager, hand_off, log_attempt
    ):
        met = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(met, rep, ny(2026, 1, 12, 10))  # 2 business hours
        late = hand_off(rep, ny(2026, 1, 9, 16))
        log_attempt(late, rep, ny(2026, 1, 13, 10))  # 10 business hours
        hand_off(other_rep, ny(2026, 1, 9, 16))
        response = api_as(manager).get(
            "/api/v1/sla/compliance/?start=2026-01-01&end=2026-01-31&group_by=owner"
        )
        assert response.status_code == 200, response.json()
        rows = {row["label"]: row for row in response.json()["rows"]}
        assert rows["Rep"]["handoffs"] == 2
        assert rows["Rep"]["met_rate"] == 0.5
        assert rows["Rep"]["median_hours"] == 6.0
        assert rows["Rep"]["p90_hours"] == pytest.approx(9.2)
        assert rows["Other Rep"]["met_rate"] is None
        assert SLAClock.objects.count() == 3

    def test_compliance_is_for_managers(self, api_as, rep):
        assert api_as(rep).get("/api/v1/sla/compliance/").status_code == 403

    @pytest.mark.parametrize(
        "query", ["start=yesterday", "group_by=colour", "start=2026-02-01&end=2026-01-01"]
    )
    def test_a_bad_compliance_query_is_a_400(self, api_as, manager, query):
        response = api_as(manager).get(f"/api/v1/sla/compliance/?{query}")
        assert response.status_code == 400


class TestAgreementCoverage:
    BASE = {"name": "SLA", "effective_from": "2026-01-01"}

    def test_a_second_agreement_for_the_same_leads_and_dates_is_refused(self, api_as, manager):
        client = api_as(manager)
        assert client.post("/api/v1/sla/agreements/", self.BASE, format="json").status_code == 201
        twin = client.post("/api/v1/sla/agreements/", {**self.BASE, "name": "Twin"}, format="json")
        assert twin.status_code == 400
        assert "already covers" in twin.json()["errors"]["products"][0]
        assert SLAAgreement.objects.count() == 1

    def test_a_specific_agreement_beside_a_general_one_and_a_later_one_are_fine(
        self, api_as, manager, product
    ):
        client = api_as(manager)
        ended = {**self.BASE, "effective_until": "2026-06-30"}
        assert client.post("/api/v1/sla/agreements/", ended, format="json").status_code == 201
        specific = {**self.BASE, "name": "Analytics", "products": [product.pk]}
        assert client.post("/api/v1/sla/agreements/", specific, format="json").status_code == 201
        later = {**self.BASE, "name": "H2", "effective_from": "2026-07-01"}
        assert client.post("/api/v1/sla/agreements/", later, format="json").status_code == 201
        draft = {**self.BASE, "name": "Draft", "status": "draft"}
        assert client.post("/api/v1/sla/agreements/", draft, format="json").status_code == 201


def test_compliance_takes_the_lead_list_filters(
    api_as, office_calendar, agreement, rep, manager, hand_off
):
    from tests.leads.factories import ProductFactory

    other = ProductFactory(name="Other")
    hand_off(rep, ny(2026, 1, 9, 16))
    hand_off(rep, ny(2026, 1, 9, 16), product=other)
    client = api_as(manager)
    query = "start=2026-01-01&end=2026-01-31&group_by=owner"
    everything = client.get(f"/api/v1/sla/compliance/?{query}").json()
    filtered = client.get(f"/api/v1/sla/compliance/?{query}&product={other.pk}").json()
    assert everything["rows"][0]["handoffs"] == 2
    assert filtered["rows"][0]["handoffs"] == 1
    assert sum(week["handoffs"] for week in filtered["weeks"]) == 1
    assert client.get(f"/api/v1/sla/compliance/?{query}&owner=x").status_code == 400
