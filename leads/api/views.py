"""Viewsets of the leads API: thin layers over `leads.services` and `leads.selectors`.

Permissions are the role groups' Django permissions (leads/apps.py), one per action; sales
reps see their team's leads only (`leads_visible_to`), and log attempts and feedback on the
leads they own.
"""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.errors import DomainError
from core.filters import InstantFilter
from leads import long_jobs, scoring, selectors, services
from leads.api import serializers as s
from leads.lifecycle import STAGE_LABELS
from leads.models import (
    Campaign,
    ContactAttempt,
    Event,
    Lead,
    Product,
    RescoreRun,
    StageTransition,
)
from leads.preview import active_version, definition_preview


class ActionPermission(BasePermission):
    """Each action of a viewset needs the Django permissions in `view.required_permissions`."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        # An action that both reads and writes (GET and POST `events/`) may name each method.
        needed = view.required_permissions.get(f"{view.action}:{request.method.lower()}")
        if needed is None:
            needed = view.required_permissions.get(view.action)
        if needed is None:
            return view.action is None  # OPTIONS; unknown actions are refused
        return request.user.has_perms(needed)


def _crud(model: str) -> dict[str, tuple[str, ...]]:
    view, add, change, delete = (f"leads.{a}_{model}" for a in ("view", "add", "change", "delete"))
    return {
        "list": (view,),
        "retrieve": (view,),
        "create": (add,),
        "update": (change,),
        "partial_update": (change,),
        "destroy": (delete,),
    }


def _object_body(data) -> dict:
    if not isinstance(data, dict):
        raise DomainError("Send a JSON object.")
    return dict(data)


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=list(STAGE_LABELS.items()))
    owner = django_filters.NumberFilter(field_name="owner_id")
    source = django_filters.CharFilter()
    campaign = django_filters.NumberFilter(field_name="campaign_id")
    product = django_filters.NumberFilter(field_name="product_id")
    persona = django_filters.NumberFilter(field_name="persona_id")
    team = django_filters.NumberFilter(field_name="team_id")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields = [
            "stage",
            "owner",
            "source",
            "campaign",
            "product",
            "persona",
            "team",
            "created_after",
            "created_before",
        ]


def _with_lead(name: str, serializer) -> serializers.Serializer:
    return inline_serializer(
        f"Lead{name.title()}Result", {name: serializer(), "lead": s.LeadSerializer()}
    )


@extend_schema_view(
    list=extend_schema(summary="Leads you can see, filtered"),
    retrieve=extend_schema(summary="One lead"),
    destroy=extend_schema(summary="Delete a lead and its history"),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "updated_at", "score", "id"]
    permission_classes = [IsAuthenticated, ActionPermission]
    required_permissions = {
        **_crud("lead"),
        "bulk": ("leads.add_lead", "leads.change_lead"),
        "transition": ("leads.add_stagetransition",),
        "events": ("leads.add_event",),
        "events:get": ("leads.view_lead",),
        "attempts": ("leads.add_contactattempt",),
        "attempts:get": ("leads.view_lead",),
        "transitions": ("leads.view_lead",),
        "history": (),  # one rule, asked in the action: selectors.can_write_history
        "feedback": ("leads.add_salesfeedback",),
        "assign": ("leads.add_routingassignment",),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Lead.objects.none()
        return selectors.leads_visible_to(self.request.user).order_by("-created_at", "-id")

    def _answer(self, name: str, row, serializer, lead_id: int, code=status.HTTP_201_CREATED):
        lead = Lead.objects.get(pk=lead_id)
        return Response(
            {name: serializer(row).data, "lead": s.LeadSerializer(lead).data}, status=code
        )

    @extend_schema(request=s.LeadWriteSerializer, responses={201: s.LeadSerializer})
    def create(self, request):
        lead = services.lead_create(data=_object_body(request.data), actor=request.user)
        return Response(s.LeadSerializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.LeadWriteSerializer(partial=True),
        responses={200: s.LeadSerializer},
        description="`stage` and `score` are read-only here (use `transition/`).",
    )
    def partial_update(self, request, pk=None):
        lead = self.get_object()
        if not selectors.can_edit(request.user, lead):
            self.permission_denied(
                request, message="Only the lead's owner, marketing or a manager edits it."
            )
        lead = services.lead_update(lead=lead, data=_object_body(request.data), actor=request.user)
        return Response(s.LeadSerializer(lead).data)

    def destroy(self, request, pk=None):
        services.lead_delete(lead=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.LeadWriteSerializer(many=True),
        responses={
            200: OpenApiResponse(s.BulkResultSerializer, description="Every row was saved."),
            207: OpenApiResponse(
                s.BulkResultSerializer,
                description="Some rows were refused (see `errors`); the valid rows were saved.",
            ),
        },
        summary="Upsert up to 1,000 leads by external_id",
        description=(
            "Rows with a known `external_id` update that lead (only the fields sent); other "
            "rows create leads. Valid rows are saved even when others fail: the answer is 200 "
            "when every row was saved, 207 when some were refused, each with its `index` and "
            "field messages. More than 1,000 rows is a 400 and saves nothing."
        ),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        result = services.leads_upsert(rows=request.data, actor=request.user)
        body = {
            "created": len(result.created),
            "updated": len(result.updated),
            "errors": result.errors,
            "created_ids": result.created,
            "updated_ids": result.updated,
        }
        return Response(body, status=207 if result.errors else 200)

    @extend_schema(
        request=s.TransitionInputSerializer,
        responses={201: _with_lead("transition", s.StageTransitionSerializer)},
        summary="Move a lead to another stage",
        description=(
            "An impossible move is a 400 that says which moves are possible. A move to "
            "customer needs an amount: the lead's, or `amount` sent with the move (a 400 on "
            "`amount` otherwise)."
        ),
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        lead = self.get_object()
        if not selectors.can_move(request.user, lead):
            self.permission_denied(
                request, message="Only the lead's owner, marketing or a manager moves it."
            )
        data = self._validated(s.TransitionInputSerializer, request)
        transition = services.lead_transition(
            lead=lead.pk,
            to_stage=data["to"],
            actor=request.user,
            reason=data["reason"],
            at=data.get("at"),
            amount=data.get("amount"),
        )
        return self._answer("transition", transition, s.StageTransitionSerializer, lead.pk)

    def _timeline(self, rows, serializer):
        """A page of one of the lead's histories, oldest first."""
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        responses={200: s.StageTransitionSerializer(many=True)},
        summary="The lead's stage transitions, oldest first (paginated)",
        description=(
            "Every move, including those the product made itself: qualification by a "
            "definition (`definition` set, no `actor`), the SLA hand-back after an exhausted "
            "window, rescoring after a definition change."
        ),
    )
    @action(detail=True, methods=["get"])
    def transitions(self, request, pk=None):
        lead = self.get_object()
        rows = StageTransition.objects.filter(lead_id=lead.pk).order_by("at", "id")
        return self._timeline(rows, s.StageTransitionSerializer)

    @extend_schema(
        methods=["GET"],
        responses={200: s.EventSerializer(many=True)},
        summary="The lead's engagement events, oldest first (paginated)",
    )
    @extend_schema(
        methods=["POST"],
        request=s.EventInputSerializer,
        responses={201: _with_lead("event", s.EventSerializer)},
        summary="Record an engagement event (rescoring may qualify the lead)",
    )
    @action(detail=True, methods=["get", "post"])
    def events(self, request, pk=None):
        lead = self.get_object()
        if request.method == "GET":
            rows = Event.objects.filter(lead_id=lead.pk).order_by("occurred_at", "id")
            return self._timeline(rows, s.EventSerializer)
        data = self._validated(s.EventInputSerializer, request)
        event = services.lead_event_record(
            lead=lead.pk,
            type=data["type"],
            occurred_at=data["occurred_at"],
            properties=data["properties"],
            campaign=data.get("campaign"),
            actor=request.user,
        )
        return self._answer("event", event, s.EventSerializer, lead.pk)

    @extend_schema(
        methods=["GET"],
        responses={200: s.ContactAttemptSerializer(many=True)},
        summary="The lead's contact attempts, oldest first (paginated)",
    )
    @extend_schema(
        methods=["POST"],
        request=s.AttemptInputSerializer,
        responses={201: _with_lead("attempt", s.ContactAttemptSerializer)},
        summary="Log a contact attempt (the lead's owner, or a manager)",
    )
    @action(detail=True, methods=["get", "post"])
    def attempts(self, request, pk=None):
        if request.method == "GET":
            lead = self.get_object()
            rows = ContactAttempt.objects.filter(lead_id=lead.pk).order_by("occurred_at", "id")
            return self._timeline(rows, s.ContactAttemptSerializer)
        lead = self._owned_lead("log attempts on")
        data = self._validated(s.AttemptInputSerializer, request)
        attempt = services.contact_attempt_log(
            lead=lead.pk,
            actor=request.user,
            channel=data["channel"],
            outcome=data["outcome"],
            occurred_at=data.get("occurred_at"),
            note=data["note"],
        )
        return self._answer("attempt", attempt, s.ContactAttemptSerializer, lead.pk)

    @extend_schema(
        request=s.FeedbackInputSerializer,
        responses={201: _with_lead("feedback", s.SalesFeedbackSerializer)},
        summary="Accept or reject a handed-off lead (the lead's owner, or a manager)",
        description=(
            "Reject with not_ready, bad_contact_data, duplicate, competitor or other → "
            "recycled; bad_fit → disqualified. Accept with `advance` → opportunity."
        ),
    )
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        lead = self._owned_lead("give feedback on")
        data = self._validated(s.FeedbackInputSerializer, request)
        feedback = services.sales_feedback_give(lead=lead.pk, author=request.user, **data)
        return self._answer("feedback", feedback, s.SalesFeedbackSerializer, lead.pk)

    @extend_schema(
        request=s.AssignInputSerializer,
        responses={201: _with_lead("assignment", s.RoutingAssignmentSerializer)},
        summary="Give the lead to a sales owner",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        lead = self.get_object()
        if not selectors.can_assign(request.user, lead):
            self.permission_denied(request, message="Only marketing and managers assign leads.")
        data = self._validated(s.AssignInputSerializer, request)
        owner = data["owner"]
        user = request.user
        assignment = services.lead_assign(
            lead=lead.pk, owner=owner, actor=user, reason=data["reason"]
        )
        return self._answer("assignment", assignment, s.RoutingAssignmentSerializer, lead.pk)

    @extend_schema(
        request=s.HistoryInputSerializer,
        responses={201: s.HistoryResultSerializer},
        summary="Write a lead's history in one go (back-fills)",
        description=(
            "The ordered moves (`transition`), assignments (`assign`) and contact attempts "
            "(`attempt`) of a lead, applied in one transaction: every step is checked as the "
            "single endpoints check it, a refused step is a 400 naming it (`steps.<index>`) "
            "and saves nothing. The SLA evaluates the lead's clocks once, from the whole "
            "history, so the result is the one the same history lived in real time gives. "
            "At most 500 steps, in the order they happened, none in the future. Written by "
            "managers and the Integrations role (a 403 for the others)."
        ),
    )
    @action(detail=True, methods=["post"])
    def history(self, request, pk=None):
        lead = self.get_object()
        if not selectors.can_write_history(request.user):
            self.permission_denied(request, message=selectors.HISTORY_WRITERS)
        data = self._validated(s.HistoryInputSerializer, request)
        result = services.lead_history_apply(lead=lead.pk, steps=data["steps"], actor=request.user)
        body = {
            "transitions": result.transitions,
            "attempts": result.attempts,
            "assignments": result.assignments,
            "lead": s.LeadSerializer(Lead.objects.get(pk=lead.pk)).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def _validated(self, serializer_class, request) -> dict:
        serializer = serializer_class(data=_object_body(request.data))
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _owned_lead(self, verb: str) -> Lead:
        lead = self.get_object()
        if not selectors.can_log_sales_touches(self.request.user, lead):
            self.permission_denied(
                self.request, message=f"Only the lead's owner (or a manager) can {verb} it."
            )
        return lead


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.order_by("name")
    serializer_class = s.ProductSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    required_permissions = _crud("product")
    filterset_fields = ["is_active", "code"]


class CampaignFilter(django_filters.FilterSet):
    archived = django_filters.BooleanFilter(
        method="filter_archived", label="true: archived campaigns only; false: active only."
    )

    class Meta:
        model = Campaign
        fields = ["channel", "source", "product", "archived"]

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=not value)


class CampaignViewSet(viewsets.ModelViewSet):
    queryset = Campaign.objects.order_by("-starts_on", "name")
    serializer_class = s.CampaignSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    required_permissions = _crud("campaign")
    filterset_class = CampaignFilter


@extend_schema_view(
    list=extend_schema(summary="Qualification definition versions"),
    retrieve=extend_schema(summary="One definition version"),
)
class DefinitionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DefinitionSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    required_permissions = {
        "list": ("leads.view_qualificationdefinition",),
        "retrieve": ("leads.view_qualificationdefinition",),
        "create": ("leads.add_qualificationdefinition",),
        "partial_update": ("leads.change_qualificationdefinition",),
        "activate": ("leads.activate_qualificationdefinition",),
        "submit": ("leads.change_qualificationdefinition",),
        "send_back": ("leads.activate_qualificationdefinition",),
        "preview": ("leads.add_qualificationdefinition",),
    }
    filterset_fields = ["stage", "status"]

    def get_queryset(self):
        return selectors.definitions_list().order_by("stage", "-version")

    @extend_schema(request=s.DefinitionInputSerializer, responses={201: s.DefinitionSerializer})
    def create(self, request):
        serializer = s.DefinitionInputSerializer(data=_object_body(request.data))
        serializer.is_valid(raise_exception=True)
        definition = services.definition_create(actor=request.user, **serializer.validated_data)
        return Response(s.DefinitionSerializer(definition).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.DefinitionUpdateSerializer,
        responses={200: s.DefinitionSerializer},
        description="Drafts only: an active or retired version is never edited.",
    )
    def partial_update(self, request, pk=None):
        serializer = s.DefinitionUpdateSerializer(data=_object_body(request.data))
        serializer.is_valid(raise_exception=True)
        definition = services.definition_update(
            definition=self.get_object(), **serializer.validated_data
        )
        return Response(s.DefinitionSerializer(definition).data)

    @extend_schema(
        request=None,
        responses={202: s.RescoreRunSerializer},
        summary="Activate this version (managers)",
        description=(
            "Retires the active version of the stage and rescores open leads in the "
            "background; the answer is the rescoring run (see `rescore-runs/{id}/`)."
        ),
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        run = services.definition_activate(definition=self.get_object(), actor=request.user)
        return Response(s.RescoreRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: s.DefinitionSerializer},
        summary="Submit this draft for approval",
        description="A draft becomes `submitted` (no longer editable); the managers are notified.",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        definition = services.definition_submit(definition=self.get_object(), actor=request.user)
        return Response(s.DefinitionSerializer(definition).data)

    @extend_schema(
        request=s.DefinitionSendBackSerializer,
        responses={200: s.DefinitionSerializer},
        summary="Send a submitted version back to draft (managers)",
        description="With a comment for the author, who is notified.",
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk=None):
        serializer = s.DefinitionSendBackSerializer(data=_object_body(request.data))
        serializer.is_valid(raise_exception=True)
        definition = services.definition_send_back(
            definition=self.get_object(),
            actor=request.user,
            comment=serializer.validated_data["comment"],
        )
        return Response(s.DefinitionSerializer(definition).data)

    @extend_schema(
        request=s.DefinitionPreviewInputSerializer,
        responses={200: s.DefinitionPreviewSerializer},
        summary="Preview rules over the open leads now",
        description=(
            "How many open leads the rules would qualify now, which (the highest scores), how "
            "that compares with the stage's active version, and the open leads by score band "
            "of 10 points. Nothing is saved."
        ),
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        serializer = s.DefinitionPreviewInputSerializer(data=_object_body(request.data))
        serializer.is_valid(raise_exception=True)
        stage = serializer.validated_data["stage"]
        rules = serializer.validated_data["rules"]
        if isinstance(rules, dict) and "stage" not in rules:
            rules = {**rules, "stage": stage}
        errors = scoring.validate_definition(rules)
        if not errors and rules["stage"] != stage:
            errors = {"stage": [f"The rules say stage “{rules['stage']}”, not “{stage}”."]}
        if errors:
            raise serializers.ValidationError(
                {"rules": [f"{path}: {' '.join(texts)}" for path, texts in errors.items()]}
            )
        result = definition_preview(
            definition=scoring.Definition.from_dict(rules),
            active=active_version(stage),
            now=timezone.now(),
        )
        return Response(result.to_dict())


class RescoreRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Progress of bulk rescoring after an activation."""

    queryset = RescoreRun.objects.order_by("-created_at", "-id")
    serializer_class = s.RescoreRunSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    required_permissions = {
        "list": ("leads.view_rescorerun",),
        "retrieve": ("leads.view_rescorerun",),
        "restart": ("leads.activate_qualificationdefinition",),
    }
    filterset_fields = ["definition", "status"]

    @extend_schema(
        request=None,
        responses={202: s.RescoreRunSerializer},
        summary="Restart a stalled or failed rescoring run (managers)",
        description=(
            "Sends the run to a worker again; it goes on from where it stopped. A run that is "
            "finished, moving (a batch in the last two minutes) or of a retired version is a "
            "400 that says why."
        ),
    )
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        run = long_jobs.rescore_run_restart(run=self.get_object(), actor=request.user)
        return Response(s.RescoreRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
