"""REST API of reports: `reports/funnel/`."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.response import Response

from core.periods import parse_period
from core.replicas import replica_view
from leads.api.serializers import ReportFiltersSerializer
from leads.selectors import report_filter_values
from reporting import funnel, selectors
from reporting.funnel import FORWARD_PAIRS, STAGES
from reporting.models import Dimension, FunnelMode

# --------------------------------------------------------------------------- funnel


class FunnelQuerySerializer(ReportFiltersSerializer):
    start = serializers.CharField(
        required=False, help_text="A date (whole days, company time zone) or an instant."
    )
    end = serializers.CharField(
        required=False, help_text="A date (included) or an instant (excluded)."
    )
    mode = serializers.ChoiceField(choices=FunnelMode.values, default=FunnelMode.COHORT)
    group_by = serializers.ChoiceField(
        choices=selectors.GROUP_BY_CHOICES, required=False, allow_blank=True
    )


class FunnelPairSerializer(serializers.Serializer):
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    rate = serializers.FloatField(
        allow_null=True,
        help_text="A fraction from 0 to 1 (0.42 is 42%; flow mode may exceed 1); null when "
        "nothing reached the first stage.",
    )
    median_seconds = serializers.FloatField(allow_null=True)

    def get_fields(self):
        # "from" is a Python keyword: the wire names are "from" and "to".
        fields = super().get_fields()
        fields["from"] = fields.pop("from_stage")
        fields["to"] = fields.pop("to_stage")
        return fields


class FunnelResultSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    counts = inline_serializer(
        "FunnelStageCounts", {stage: serializers.IntegerField() for stage in STAGES}
    )
    conversion = FunnelPairSerializer(many=True)
    won_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)


FUNNEL_RESPONSE = inline_serializer(
    "FunnelReport",
    {
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "mode": serializers.CharField(),
        "group_by": serializers.CharField(allow_null=True),
        "snapshot_days": serializers.IntegerField(
            help_text="Whole days read from daily snapshots; the rest was computed live."
        ),
        "as_of": serializers.DateTimeField(
            help_text="The instant the figures are exact at: every write committed before it "
            "is counted (days changed since their snapshot are computed live)."
        ),
        "total": FunnelResultSerializer(),
        "groups": FunnelResultSerializer(many=True),
        "bottleneck": inline_serializer(
            "FunnelBottleneck",
            {
                "from": serializers.CharField(),
                "to": serializers.CharField(),
                "measured": serializers.FloatField(help_text="A fraction (0.42 is 42%)."),
                "planned": serializers.FloatField(help_text="A fraction (0.42 is 42%)."),
                "ratio_to_plan": serializers.FloatField(),
            },
            allow_null=True,
        ),
    },
)


def funnel_result_json(key, label: str, result: funnel.FunnelResult) -> dict:
    return {
        "key": key,
        "label": label,
        "counts": result.counts,
        "conversion": [
            {
                "from": a,
                "to": b,
                "rate": result.conversion[(a, b)],
                "median_seconds": (
                    None
                    if result.velocity.get((a, b)) is None
                    else result.velocity[(a, b)].total_seconds()
                ),
            }
            for a, b in FORWARD_PAIRS
        ],
        "won_revenue": result.won_revenue,
    }


class FunnelReportViewSet(viewsets.ViewSet):
    """The closed-loop funnel (PRODUCT.md "Closed-loop reports")."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[FunnelQuerySerializer],
        responses={200: FUNNEL_RESPONSE},
        summary="Funnel in cohort or flow mode, with conversion, velocity and won revenue",
    )
    @replica_view
    def list(self, request):
        query = FunnelQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        start, end = parse_period(data.get("start"), data.get("end"))
        group_by = data.get("group_by") or Dimension.ALL
        report = selectors.funnel_report(
            start=start,
            end=end,
            mode=data["mode"],
            group_by=group_by,
            filters=report_filter_values(data),
        )
        groups = report.groups()
        labels = selectors.group_labels(group_by, [key for key, _ in groups])
        plan = selectors.current_revenue_plan(today=selectors.local_day(end))
        neck = funnel.bottleneck(report.total.conversion, plan.rates) if plan else None
        return Response(
            {
                "start": start,
                "end": end,
                "mode": report.mode,
                "group_by": None if group_by == Dimension.ALL else group_by,
                "snapshot_days": report.snapshot_days,
                "as_of": report.as_of,
                "total": funnel_result_json(None, "All leads", report.total),
                "groups": [
                    funnel_result_json(key, labels.get(key, key), result) for key, result in groups
                ],
                "bottleneck": None
                if neck is None
                else {
                    "from": neck.from_stage,
                    "to": neck.to_stage,
                    "measured": neck.measured,
                    "planned": neck.planned,
                    "ratio_to_plan": neck.ratio_to_plan,
                },
            }
        )
