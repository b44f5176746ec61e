"""REST API: `sla/calendars/`, `sla/agreements/` (CRUD), `sla/clocks/` and `sla/compliance/`.

Editing a calendar or an agreement that a clock already started under answers the new
version (a new `id`, `version + 1`, same `family`); the old version stays readable by id.
"""

from datetime import date, datetime, timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from accounts.models import Team
from core import days
from core.errors import DomainError
from core.filters import InstantFilter
from core.periods import parse_period
from core.replicas import replica_view
from leads.api.serializers import ReportFiltersSerializer
from leads.selectors import leads_visible_to, report_filter_values
from sla import selectors, services
from sla.models import BusinessCalendar, SLAAgreement, SLAClock

# -- calendars -----------------------------------------------------------------------------------


class BusinessCalendarSerializer(serializers.ModelSerializer):
    teams = serializers.SerializerMethodField()

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "family",
            "version",
            "name",
            "time_zone",
            "hours",
            "holiday_country",
            "holiday_subdivision",
            "custom_holidays",
            "is_default",
            "teams",
            "created_at",
            "superseded_at",
        ]

    def get_teams(self, calendar) -> list[int]:
        return [row.team_id for row in calendar.team_assignments.all()]


class BusinessCalendarInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    time_zone = serializers.CharField(max_length=64)
    hours = serializers.JSONField(
        help_text='Weekday "0" (Monday) … "6" → list of ["HH:MM", "HH:MM"] opening intervals.'
    )
    holiday_country = serializers.CharField(max_length=3, required=False, allow_blank=True)
    holiday_subdivision = serializers.CharField(max_length=10, required=False, allow_blank=True)
    custom_holidays = serializers.ListField(child=serializers.DateField(), required=False)
    is_default = serializers.BooleanField(required=False)
    teams = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), many=True, required=False
    )


class SLAPermissions(permissions.DjangoModelPermissions):
    """Everyone signed in reads; writing needs the model's add/change/delete permission."""


class BusinessCalendarViewSet(viewsets.ModelViewSet):
    serializer_class = BusinessCalendarSerializer
    permission_classes = [permissions.IsAuthenticated, SLAPermissions]
    queryset = BusinessCalendar.objects.prefetch_related("team_assignments")
    filterset_fields = ["is_default", "family"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and self.request.query_params.get("versions") != "all":
            queryset = queryset.filter(superseded_at__isnull=True)
        return queryset

    @extend_schema(request=BusinessCalendarInputSerializer, responses=BusinessCalendarSerializer)
    def create(self, request, *args, **kwargs):
        data = self._input(request, partial=False)
        teams = data.pop("teams", ())
        calendar = services.calendar_create(data=data, teams=teams)
        return Response(self._output(calendar), status=status.HTTP_201_CREATED)

    @extend_schema(request=BusinessCalendarInputSerializer, responses=BusinessCalendarSerializer)
    def update(self, request, *args, **kwargs):
        data = self._input(request, partial=kwargs.get("partial", False))
        teams = data.pop("teams", None)
        calendar = services.calendar_update(calendar=self.get_object(), data=data, teams=teams)
        return Response(self._output(calendar))

    @extend_schema(request=BusinessCalendarInputSerializer, responses=BusinessCalendarSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.calendar_delete(calendar=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _input(self, request, *, partial: bool) -> dict:
        serializer = BusinessCalendarInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "custom_holidays" in data:
            data["custom_holidays"] = [d.isoformat() for d in data["custom_holidays"]]
        return data

    def _output(self, calendar) -> dict:
        calendar = BusinessCalendar.objects.prefetch_related("team_assignments").get(pk=calendar.pk)
        return BusinessCalendarSerializer(calendar).data


# -- agreements ----------------------------------------------------------------------------------


class SLAAgreementSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLAAgreement
        fields = [
            "id",
            "family",
            "version",
            *services.AGREEMENT_FIELDS,
            "products",
            "personas",
            "created_at",
            "superseded_at",
        ]


class SLAAgreementInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLAAgreement
        fields = [*services.AGREEMENT_FIELDS, "products", "personas"]
        extra_kwargs = {"status": {"required": False}}

    def validate_status(self, value):
        if value == SLAAgreement.Status.SUPERSEDED:
            raise serializers.ValidationError("An agreement is superseded by editing it.")
        return value


class SLAAgreementViewSet(viewsets.ModelViewSet):
    serializer_class = SLAAgreementSerializer
    permission_classes = [permissions.IsAuthenticated, SLAPermissions]
    queryset = SLAAgreement.objects.prefetch_related("products", "personas")
    filterset_fields = ["status", "family"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and self.request.query_params.get("versions") != "all":
            queryset = queryset.filter(superseded_at__isnull=True)
        return queryset

    @extend_schema(request=SLAAgreementInputSerializer, responses=SLAAgreementSerializer)
    def create(self, request, *args, **kwargs):
        data = self._input(request, partial=False)
        agreement = services.agreement_create(
            data=data,
            products=data.pop("products", ()),
            personas=data.pop("personas", ()),
            actor=request.user,
        )
        return Response(self._output(agreement), status=status.HTTP_201_CREATED)

    @extend_schema(request=SLAAgreementInputSerializer, responses=SLAAgreementSerializer)
    def update(self, request, *args, **kwargs):
        data = self._input(request, partial=kwargs.get("partial", False))
        agreement = services.agreement_update(
            agreement=self.get_object(),
            data=data,
            products=data.pop("products", None),
            personas=data.pop("personas", None),
            actor=request.user,
        )
        return Response(self._output(agreement))

    @extend_schema(request=SLAAgreementInputSerializer, responses=SLAAgreementSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.agreement_delete(agreement=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _input(self, request, *, partial: bool) -> dict:
        serializer = SLAAgreementInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _output(self, agreement) -> dict:
        agreement = SLAAgreement.objects.prefetch_related("products", "personas").get(
            pk=agreement.pk
        )
        return SLAAgreementSerializer(agreement).data


# -- clocks --------------------------------------------------------------------------------------


class SLAClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLAClock
        fields = [
            "id",
            "lead",
            "owner",
            "agreement",
            "calendar",
            "handoff_at",
            "first_touch_due_at",
            "first_touch_at",
            "status",
            "attempts",
            "attempt_window_ends_at",
            "over_contact",
            "exhausted_at",
            "warn_at",
            "warned_at",
            "breached_at",
            "closed_at",
            "response_business_seconds",
        ]


class SLAClockFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SLAClock.Status.choices)
    open = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull")
    due_before = InstantFilter(field_name="first_touch_due_at", lookup_expr="lt")
    product = django_filters.NumberFilter(field_name="lead__product_id")
    handoff_after = InstantFilter(field_name="handoff_at", lookup_expr="gte")
    handoff_before = InstantFilter(field_name="handoff_at", lookup_expr="lt")

    class Meta:
        model = SLAClock
        fields = ["status", "owner", "lead", "agreement", "product"]


class SLAClockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SLAClockSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = SLAClockFilter
    ordering_fields = ["first_touch_due_at", "handoff_at", "attempt_window_ends_at"]

    def get_queryset(self):
        """The clocks of the leads the user may see (a rep: their own and their team's)."""
        clocks = SLAClock.objects.order_by("first_touch_due_at", "id")
        if getattr(self, "swagger_fake_view", False):
            return clocks.none()
        return clocks.filter(lead__in=leads_visible_to(self.request.user))


# -- compliance ----------------------------------------------------------------------------------


class ComplianceQuerySerializer(ReportFiltersSerializer):
    start = serializers.CharField(
        required=False,
        help_text=(
            "First day (a date, company time zone) or instant (with its offset); default: "
            "12 weeks ago. The same period rule as reports/funnel/ (see Definitions)."
        ),
    )
    end = serializers.CharField(
        required=False,
        help_text="Last day included (a date) or the instant the period ends; default: today.",
    )
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS), default="owner")

    def validate(self, attrs):
        today = days.today()
        try:
            attrs["period"] = parse_period(
                attrs.get("start"),
                attrs.get("end"),
                today=today,
                default_first=today - timedelta(weeks=12),
            )
        except DomainError as exc:
            raise serializers.ValidationError({exc.field or "start": [exc.message]}) from exc
        return attrs


def compliance_period(start: date, end: date) -> tuple[datetime, datetime]:
    """The days `start` to `end` included, in the company time zone (core.days)."""
    return days.days_period(start, end)


_row = dict(
    name="SLAComplianceRow",
    fields={
        "group": serializers.IntegerField(allow_null=True),
        "label": serializers.CharField(),
        "handoffs": serializers.IntegerField(),
        "met": serializers.IntegerField(),
        "breached": serializers.IntegerField(),
        "met_rate": serializers.FloatField(allow_null=True),
        "median_hours": serializers.FloatField(allow_null=True),
        "p90_hours": serializers.FloatField(allow_null=True),
        "over_contact": serializers.IntegerField(),
        "exhausted": serializers.IntegerField(),
        "attempts_per_lead": serializers.FloatField(allow_null=True),
    },
)
COMMITMENT_FIELDS = (
    "agreement_id",
    "product_id",
    "product_name",
    "stage",
    "month",
    "delivered",
    "committed",
    "expected_by_now",
    "status",
)
_commitment = dict(
    name="SLACommitmentPace",
    fields={
        "agreement_id": serializers.IntegerField(),
        "product_id": serializers.IntegerField(),
        "product_name": serializers.CharField(),
        "stage": serializers.CharField(),
        "month": serializers.DateField(),
        "delivered": serializers.IntegerField(),
        "committed": serializers.IntegerField(),
        "expected_by_now": serializers.DecimalField(max_digits=10, decimal_places=2),
        "status": serializers.CharField(),
    },
)
_week = dict(
    name="SLAComplianceWeek",
    fields={
        "week": serializers.DateField(),
        "handoffs": serializers.IntegerField(),
        "met": serializers.IntegerField(),
        "breached": serializers.IntegerField(),
        "met_rate": serializers.FloatField(allow_null=True),
    },
)

ROW_FIELDS = (
    "group",
    "label",
    "handoffs",
    "met",
    "breached",
    "met_rate",
    "median_hours",
    "p90_hours",
    "over_contact",
    "exhausted",
    "attempts_per_lead",
)


class CanViewCompliance(permissions.BasePermission):
    message = "SLA compliance reports are for managers, and marketing's commitments for marketing."

    def has_permission(self, request, view) -> bool:
        return selectors.sees_commitments(request.user)


class ComplianceViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated, CanViewCompliance]

    @extend_schema(
        parameters=[ComplianceQuerySerializer],
        responses=inline_serializer(
            "SLACompliance",
            {
                "start": serializers.DateTimeField(help_text="The period's first instant."),
                "end": serializers.DateTimeField(help_text="The instant after the period."),
                "group_by": serializers.CharField(),
                "as_of": serializers.DateTimeField(
                    help_text="The instant the figures are exact at (computed from the clocks "
                    "and attempts at read time)."
                ),
                "rows": inline_serializer(
                    **_row,
                    many=True,
                    help_text="First-touch compliance per group; empty for marketing users "
                    "(managers only), who read `commitments`.",
                ),
                "commitments": inline_serializer(**_commitment, many=True),
                "weeks": inline_serializer(
                    **_week, many=True, help_text="Per week of hand-off; empty for marketing."
                ),
            },
        ),
    )
    @replica_view
    def list(self, request):
        query = ComplianceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["period"]
        group_by = query.validated_data["group_by"]
        now = timezone.now()
        filters = report_filter_values(query.validated_data)
        # Marketing reads its own commitments; the first-touch figures are the managers'.
        full = selectors.sees_compliance(request.user)
        rows = (
            selectors.compliance(start=start, end=end, group_by=group_by, filters=filters)
            if full
            else []
        )
        commitments = selectors.commitment_pace(
            start=start, end=end - timedelta(seconds=1), now=now
        )
        weeks = selectors.weekly_trend(start=start, end=end, filters=filters) if full else []
        return Response(
            {
                "start": start,
                "end": end,
                "group_by": group_by,
                "as_of": now,
                "rows": [{key: row[key] for key in ROW_FIELDS} for row in rows],
                "commitments": [
                    {key: row[key] for key in COMMITMENT_FIELDS} for row in commitments
                ],
                "weeks": [
                    {key: row[key] for key in ("week", "handoffs", "met", "breached", "met_rate")}
                    for row in weeks
                ],
            }
        )
