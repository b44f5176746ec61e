"""REST API: `goals/`, `revenue-plans/` (answering their computed needs) and `objectives/`
(with nested key results). Writes go through `goals.services`."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from goals import permissions, progress, selectors, services
from goals.models import Goal, KeyResult, Objective, RevenuePlan
from leads.models import Product

# --- goals ----------------------------------------------------------------------------------


class GoalSerializer(serializers.ModelSerializer):
    expected_to_date = serializers.SerializerMethodField()
    pace = serializers.SerializerMethodField()
    realism_ratio = serializers.SerializerMethodField()
    realism = serializers.SerializerMethodField()
    metric_available = serializers.SerializerMethodField()
    metric_definition = serializers.SerializerMethodField()

    class Meta:
        model = Goal
        fields = [
            "id",
            *services.GOAL_FIELDS,
            "revenue_plan",
            "last_period_value",
            "realism_ratio",
            "realism",
            "measured_value",
            "measured_at",
            "expected_to_date",
            "pace",
            "metric_available",
            "metric_definition",
            "created_at",
            "updated_at",
        ]

    def get_expected_to_date(self, goal) -> Decimal:
        today = timezone.localdate()
        return expected(goal, today)

    def get_pace(self, goal) -> str:
        return str(goal_pace(goal, timezone.localdate()))

    def get_realism_ratio(self, goal) -> Decimal | None:
        from goals.planning import realism_ratio

        ratio = realism_ratio(goal.target_value, goal.last_period_value)
        return None if ratio is None else ratio.quantize(Decimal("0.01"))

    def get_realism(self, goal) -> str:
        from goals.planning import realism_sentence

        return realism_sentence(
            goal.target_value,
            goal.last_period_value,
            selectors.period_label(goal.start, goal.end),
        )

    def get_metric_available(self, goal) -> bool:
        return selectors.metric_available(goal.metric)

    def get_metric_definition(self, goal) -> str:
        return selectors.METRIC_DEFINITIONS[goal.metric]


def expected(goal, today) -> Decimal:
    return progress.expected_to_date(
        goal.target_value, goal.start, goal.end, today, is_rate=goal.is_rate
    ).quantize(Decimal("0.01"))


def goal_pace(goal, today) -> progress.Pace:
    return progress.pace(
        goal.measured_value, goal.target_value, goal.start, goal.end, today, is_rate=goal.is_rate
    )


class GoalInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Goal
        fields = list(services.GOAL_FIELDS)
        extra_kwargs = {"from_stage": {"required": False}, "to_stage": {"required": False}}


@extend_schema(request=GoalInputSerializer, responses=GoalSerializer)
class GoalViewSet(viewsets.ModelViewSet):
    """SMART goals. Progress (`measured_value`) is measured from the data, never written."""

    permission_classes = [permissions.ReadOrOwnerTeam]
    filterset_fields = ["owner_team", "metric", "revenue_plan"]
    ordering_fields = ["end", "start", "title"]

    def get_queryset(self):
        return selectors.goal_list()

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return GoalInputSerializer
        return GoalSerializer

    def create(self, request, *args, **kwargs):
        serializer = GoalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not permissions.can_manage_team(request.user, serializer.validated_data["owner_team"]):
            raise PermissionDenied("Your team cannot create goals for this owner team.")
        goal = services.goal_create(actor=request.user, **serializer.validated_data)
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        goal = self.get_object()
        serializer = GoalInputSerializer(
            goal, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        team = serializer.validated_data.get("owner_team", goal.owner_team)
        if not permissions.can_manage_team(request.user, team):
            raise PermissionDenied("Your team cannot move a goal to this owner team.")
        goal = services.goal_update(goal=goal, actor=request.user, **serializer.validated_data)
        return Response(GoalSerializer(goal).data)


# --- revenue plans --------------------------------------------------------------------------


class ProductShareSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    share = serializers.DecimalField(max_digits=5, decimal_places=4)


class RevenuePlanSerializer(serializers.ModelSerializer):
    period_end = serializers.DateField(read_only=True)
    product_shares = serializers.SerializerMethodField()
    goals = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    computed = serializers.JSONField(
        read_only=True,
        help_text=(
            "What the plan computed with and its needs: `needs` (customers, opportunities, "
            "sqls, mqls, leads for the whole period), `needs_per_month`, `rates` used with "
            "`rate_sources` (typed or measured), `average_deal_size` with "
            "`deal_size_source`, the `lookback` window, and per-product `products`."
        ),
    )

    class Meta:
        model = RevenuePlan
        fields = [
            "id",
            *services.PLAN_FIELDS,
            "period_end",
            "product_shares",
            "computed",
            "computed_at",
            "goals",
            "created_at",
            "updated_at",
        ]

    def get_product_shares(self, plan) -> list[dict]:
        return [
            {"product": row.product_id, "share": row.share} for row in plan.product_shares.all()
        ]


class RevenuePlanInputSerializer(serializers.ModelSerializer):
    product_shares = ProductShareSerializer(many=True, required=False)

    class Meta:
        model = RevenuePlan
        fields = [*services.PLAN_FIELDS, "product_shares"]


class SetCommitmentInput(serializers.Serializer):
    agreement = serializers.IntegerField(min_value=1)


@extend_schema(request=RevenuePlanInputSerializer, responses=RevenuePlanSerializer)
class RevenuePlanViewSet(viewsets.ModelViewSet):
    """Revenue plans ("sign up for a number"); each answers its computed needs."""

    permission_classes = [permissions.ReadOrPlanManager]

    def get_queryset(self):
        return RevenuePlan.objects.prefetch_related("product_shares", "goals")

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return RevenuePlanInputSerializer
        return RevenuePlanSerializer

    def _save(self, request, plan=None, partial=False):
        serializer = RevenuePlanInputSerializer(plan, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shares = data.pop("product_shares", None)
        if shares is not None:
            shares = {row["product"].pk: row["share"] for row in shares}
        plan = services.revenue_plan_save(
            actor=request.user, plan=plan, product_shares=shares, **data
        )
        return RevenuePlanSerializer(self.get_queryset().get(pk=plan.pk)).data

    def create(self, request, *args, **kwargs):
        return Response(self._save(request), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        return Response(
            self._save(request, self.get_object(), partial=kwargs.get("partial", False))
        )

    @extend_schema(request=None, responses={201: GoalSerializer(many=True)})
    @action(detail=True, methods=["post"], url_path="create-goals")
    def create_goals(self, request, pk=None):
        """Create (or update) the goals each team signs up for from this plan."""
        goals = services.revenue_plan_create_goals(plan=self.get_object(), actor=request.user)
        return Response(GoalSerializer(goals, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=inline_serializer("SetCommitmentInput", {"agreement": serializers.IntegerField()}),
        responses=inline_serializer(
            "SetCommitmentResult",
            {
                "agreement": serializers.IntegerField(),
                "version": serializers.IntegerField(),
                "leads_per_product_per_month": serializers.IntegerField(),
                "commitment_stage": serializers.CharField(),
            },
        ),
    )
    @action(detail=True, methods=["post"], url_path="set-commitment")
    def set_commitment(self, request, pk=None):
        """Set an SLA agreement's marketing commitment (per product per month) from the plan.

        An agreement that clocks already use gets a new version; the answer names it."""
        from sla.models import SLAAgreement

        plan = self.get_object()
        data = SetCommitmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = SLAAgreement.objects.filter(pk=data.validated_data["agreement"]).first()
        if agreement is None:
            raise serializers.ValidationError({"agreement": ["No such SLA agreement."]})
        current = services.revenue_plan_set_commitment(
            plan=plan, agreement=agreement, actor=request.user
        )
        return Response(
            {
                "agreement": current.pk,
                "version": current.version,
                "leads_per_product_per_month": current.leads_per_product_per_month,
                "commitment_stage": current.commitment_stage,
            }
        )

    @extend_schema(request=None, responses=RevenuePlanSerializer)
    @action(detail=True, methods=["post"])
    def remeasure(self, request, pk=None):
        """Recompute the needs with today's look-back window."""
        plan = services.revenue_plan_remeasure(plan=self.get_object())
        return Response(RevenuePlanSerializer(self.get_queryset().get(pk=plan.pk)).data)


# --- objectives and key results -------------------------------------------------------------


class KeyResultSerializer(serializers.ModelSerializer):
    score = serializers.SerializerMethodField()
    colour = serializers.SerializerMethodField()

    class Meta:
        model = KeyResult
        fields = [
            "id",
            *services.KEY_RESULT_FIELDS,
            "current_value",
            "measured_at",
            "score",
            "colour",
        ]

    def get_score(self, kr) -> Decimal:
        return progress.okr_score(kr.current_value, kr.start_value, kr.target_value)

    def get_colour(self, kr) -> str:
        return progress.score_colour(self.get_score(kr))


class KeyResultInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = KeyResult
        fields = list(services.KEY_RESULT_FIELDS)
        extra_kwargs = {
            "metric": {"required": False},
            "from_stage": {"required": False},
            "to_stage": {"required": False},
        }


class ObjectiveSerializer(serializers.ModelSerializer):
    key_results = KeyResultSerializer(many=True, read_only=True)
    quarter_label = serializers.CharField(read_only=True)
    score = serializers.SerializerMethodField()
    colour = serializers.SerializerMethodField()

    class Meta:
        model = Objective
        fields = [
            "id",
            "title",
            "description",
            "year",
            "quarter",
            "quarter_label",
            "owner_team",
            "key_results",
            "score",
            "colour",
            "created_at",
        ]

    def get_score(self, objective) -> Decimal | None:
        return progress.average_score(
            [
                progress.okr_score(kr.current_value, kr.start_value, kr.target_value)
                for kr in objective.key_results.all()
            ]
        )

    def get_colour(self, objective) -> str:
        return progress.score_colour(self.get_score(objective))


class ObjectiveInputSerializer(serializers.ModelSerializer):
    key_results = KeyResultInputSerializer(
        many=True, required=False, help_text="Up to four key results."
    )

    class Meta:
        model = Objective
        fields = ["title", "description", "year", "quarter", "owner_team", "key_results"]


class CheckInInputSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=14, decimal_places=4)
    note = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(request=ObjectiveInputSerializer, responses=ObjectiveSerializer)
class ObjectiveViewSet(viewsets.ModelViewSet):
    """OKR objectives per quarter with their key results (at most four)."""

    permission_classes = [permissions.ReadOrOwnerTeam]
    filterset_fields = ["year", "quarter", "owner_team"]

    def get_queryset(self):
        return Objective.objects.prefetch_related("key_results")

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ObjectiveInputSerializer
        if self.action == "key_results":
            return KeyResultInputSerializer
        if self.action == "check_ins":
            return CheckInInputSerializer
        return ObjectiveSerializer

    def _output(self, objective):
        return ObjectiveSerializer(self.get_queryset().get(pk=objective.pk)).data

    def create(self, request, *args, **kwargs):
        serializer = ObjectiveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if not permissions.can_manage_team(request.user, data["owner_team"]):
            raise PermissionDenied("Your team cannot create objectives for this owner team.")
        objective = services.objective_create(
            actor=request.user, key_results=data.pop("key_results", []), **data
        )
        return Response(self._output(objective), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        objective = self.get_object()
        serializer = ObjectiveInputSerializer(
            objective, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "key_results" in data:
            raise serializers.ValidationError(
                {"key_results": ["Add key results with POST objectives/{id}/key-results/."]}
            )
        if not permissions.can_manage_team(
            request.user, data.get("owner_team", objective.owner_team)
        ):
            raise PermissionDenied("Your team cannot move an objective to this owner team.")
        return Response(self._output(services.objective_update(objective=objective, **data)))

    @extend_schema(request=KeyResultInputSerializer, responses={201: ObjectiveSerializer})
    @action(detail=True, methods=["post"], url_path="key-results")
    def key_results(self, request, pk=None):
        """Add a key result; a fifth is a 400."""
        objective = self.get_object()
        serializer = KeyResultInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.key_result_add(
            objective=objective, actor=request.user, **serializer.validated_data
        )
        return Response(self._output(objective), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CheckInInputSerializer,
        responses={
            201: inline_serializer(
                "CheckInResult",
                {"key_result": KeyResultSerializer(), "id": serializers.IntegerField()},
            )
        },
    )
    @action(detail=True, methods=["post"], url_path=r"key-results/(?P<key_result_id>\d+)/check-ins")
    def check_ins(self, request, pk=None, key_result_id=None):
        """Record a manual check-in (value and note) on one of the objective's key results."""
        objective = self.get_object()
        kr = get_object_or_404(KeyResult, pk=key_result_id, objective=objective)
        serializer = CheckInInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_in = services.check_in_record(
            key_result=kr, actor=request.user, **serializer.validated_data
        )
        return Response(
            {"id": check_in.pk, "key_result": KeyResultSerializer(kr).data},
            status=status.HTTP_201_CREATED,
        )
