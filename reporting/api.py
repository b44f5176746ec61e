"""REST API: `reports/funnel/` and `webhooks/` (subscriptions, their deliveries, a test send)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reporting import funnel, selectors, services
from reporting.funnel import FORWARD_PAIRS, STAGES
from reporting.models import (
    Dimension,
    FunnelMode,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from reporting.periods import parse_period
from smarketing.api import router
from smarketing.api_support import DomainError
from smarketing.events import EVENT_TYPES

# --------------------------------------------------------------------------- funnel


class FunnelQuerySerializer(serializers.Serializer):
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
    rate = serializers.FloatField(allow_null=True)
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
        "snapshot_days": serializers.IntegerField(),
        "total": FunnelResultSerializer(),
        "groups": FunnelResultSerializer(many=True),
        "bottleneck": inline_serializer(
            "FunnelBottleneck",
            {
                "from": serializers.CharField(),
                "to": serializers.CharField(),
                "measured": serializers.FloatField(),
                "planned": serializers.FloatField(),
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
    def list(self, request):
        query = FunnelQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        start, end = parse_period(data.get("start"), data.get("end"))
        group_by = data.get("group_by") or Dimension.ALL
        report = selectors.funnel_report(start=start, end=end, mode=data["mode"], group_by=group_by)
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


router.register("reports/funnel", FunnelReportViewSet, basename="report-funnel")


# --------------------------------------------------------------------------- webhooks


class WebhookPermissions(permissions.DjangoModelPermissions):
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_url(self, value: str) -> str:
        try:
            services.webhook_url_check(value)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from exc
        return value


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The creation response: the only time the signing secret is shown."""

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookSubscriptionSerializer.Meta.read_only_fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "duration_ms", "error", "response_excerpt"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "occurred_at",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "attempt_log",
        ]


class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook subscriptions. The secret is answered once, on creation."""

    queryset = WebhookSubscription.objects.order_by("name", "id")
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [permissions.IsAuthenticated, WebhookPermissions]

    @extend_schema(responses={201: WebhookSubscriptionCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.webhook_subscription_create(
            created_by=request.user, **serializer.validated_data
        )
        return Response(
            WebhookSubscriptionCreatedSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_update(self, serializer):
        services.webhook_subscription_update(
            subscription=serializer.instance, **serializer.validated_data
        )

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        queryset = subscription.deliveries.prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        ).order_by("-created_at", "-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `webhook.test` event to this subscription now."""
        delivery = services.webhook_test_send(subscription=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
