"""REST API: `personas/` (with nested `personas/{id}/interviews/`) and `interviews/`."""

from django.db.models import Count, Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.models import User
from personas import permissions, services
from personas.models import RECOMMENDED_INTERVIEWS, Interview, JourneyStage, Persona


class ContributorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    team_function = serializers.CharField(source="team.function", default=None, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "team_function"]


class JourneyStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = JourneyStage
        fields = ["stage", "questions", "content_offers", "channels"]


class PersonaSerializer(serializers.ModelSerializer):
    contributors = ContributorSerializer(many=True, read_only=True)
    interview_count = serializers.IntegerField(read_only=True)
    enough_interviews = serializers.SerializerMethodField()
    journey = JourneyStageSerializer(many=True, read_only=True)

    class Meta:
        model = Persona
        fields = [
            "id",
            *services.PERSONA_FIELDS,
            "contributors",
            "interview_count",
            "enough_interviews",
            "journey",
            "created_at",
            "updated_at",
        ]

    def get_enough_interviews(self, persona) -> bool:
        return persona.interview_count >= RECOMMENDED_INTERVIEWS


class PersonaInputSerializer(serializers.ModelSerializer):
    contributors = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )
    journey = JourneyStageSerializer(many=True, required=False)

    class Meta:
        model = Persona
        fields = [*services.PERSONA_FIELDS, "contributors", "journey"]

    def validate_journey(self, value):
        stages = [row["stage"] for row in value]
        if len(stages) != len(set(stages)):
            raise serializers.ValidationError("Give each journey stage once.")
        return value


class InterviewSerializer(serializers.ModelSerializer):
    interviewer_name = serializers.CharField(source="interviewer", read_only=True, default=None)

    class Meta:
        model = Interview
        fields = [
            "id",
            "persona",
            "interviewed_on",
            "interviewer",
            "interviewer_name",
            "interviewee",
            "trigger",
            "expectations_met",
            "information_sources",
            "demographics",
            "notes",
            "created_at",
        ]
        read_only_fields = ["persona", "created_at"]
        extra_kwargs = {"interviewer": {"required": False, "allow_null": True}}


@extend_schema(request=PersonaInputSerializer, responses=PersonaSerializer)
class PersonaViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.PersonaPermissions]
    filterset_fields = ["status"]
    ordering_fields = ["name", "updated_at"]

    def get_queryset(self):
        return (
            Persona.objects.annotate(interview_count=Count("interviews", distinct=True))
            .prefetch_related(
                Prefetch("contributors", queryset=User.objects.select_related("team")), "journey"
            )
            .order_by("name")
        )

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return PersonaInputSerializer
        if self.action == "interviews":
            return InterviewSerializer
        return PersonaSerializer

    def _save(self, request, persona=None, partial=False):
        serializer = PersonaInputSerializer(instance=persona, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        journey = data.pop("journey", None)
        contributors = data.pop("contributors", None)
        if persona is None or data or contributors is not None:
            # (The journey map alone is the map's change, as on the journey page.)
            persona = services.persona_save(
                actor=request.user, persona=persona, contributors=contributors, **data
            )
        for row in journey or ():
            services.journey_stage_save(persona=persona, actor=request.user, **row)
        fresh = self.get_queryset().get(pk=persona.pk)
        return PersonaSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        return Response(self._save(request), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        return Response(
            self._save(request, self.get_object(), partial=kwargs.get("partial", False))
        )

    @extend_schema(methods=["GET"], responses=InterviewSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=InterviewSerializer, responses={201: InterviewSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="interviews")
    def interviews(self, request, pk=None):
        """The interviews a persona rests on; POST records one (marketing or sales)."""
        persona = self.get_object()
        if request.method == "GET":
            rows = persona.interviews.select_related("interviewer")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(InterviewSerializer(page, many=True).data)
        if not permissions.can_record_interview(request.user):
            raise PermissionDenied("Your role cannot record interviews.")
        serializer = InterviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        interview = services.interview_record(
            persona=persona,
            actor=request.user,
            interviewer=data.pop("interviewer", None),
            **data,
        )
        return Response(InterviewSerializer(interview).data, status=status.HTTP_201_CREATED)


class InterviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Interviews across personas (filter with `persona`); record new ones under a persona."""

    serializer_class = InterviewSerializer
    permission_classes = [permissions.InterviewPermissions]
    queryset = Interview.objects.select_related("interviewer", "persona")
    filterset_fields = ["persona"]

    def perform_update(self, serializer):
        services.interview_update(interview=serializer.instance, **serializer.validated_data)
