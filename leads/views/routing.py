"""Routing rules, managed by managers: the rules in evaluation order, a form to create or
change one, a confirmation before deleting, and moving a rule up or down."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.forms import apply_errors
from leads.forms import RoutingRuleForm
from leads.models import RoutingRule
from leads.routing import routing_rules_overview, team_available_reps
from leads.services import routing as routing_services
from leads.views.common import can_manage_routing


def _require_manager(request) -> None:
    if not can_manage_routing(request.user):
        raise PermissionDenied("Only managers change routing rules.")


def _warn_if_nobody_gets_the_leads(request, rule: RoutingRule) -> None:
    if rule.is_active and not team_available_reps(rule.team):
        messages.warning(
            request,
            f"{rule.team} has no active sales rep who is not away: the leads of “{rule}” "
            "wait unassigned until one is.",
        )


@login_required
@require_GET
def routing_rules(request):
    _require_manager(request)
    return render(request, "leads/routing_rules.html", {"rules": routing_rules_overview()})


@login_required
@require_http_methods(["GET", "POST"])
def routing_rule_edit(request, pk=None):
    """Create a rule (no `pk`) or change one."""
    _require_manager(request)
    rule = get_object_or_404(RoutingRule, pk=pk) if pk is not None else None
    form = RoutingRuleForm(request.POST if request.method == "POST" else None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                saved = routing_services.routing_rule_create(**form.service_data())
            else:
                saved = routing_services.routing_rule_update(rule=rule, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Routing rule “{saved}” is saved.")
            _warn_if_nobody_gets_the_leads(request, saved)
            return redirect("leads:routing_rules")
    return render(
        request,
        "leads/routing_rule_form.html",
        {"form": form, "rule": rule},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def routing_rule_delete(request, pk):
    """GET asks for confirmation; POST deletes."""
    _require_manager(request)
    rule = get_object_or_404(RoutingRule.objects.select_related("team"), pk=pk)
    if request.method == "POST":
        name = str(rule)
        routing_services.routing_rule_delete(rule=rule)
        messages.success(request, f"Routing rule “{name}” is deleted.")
        return redirect("leads:routing_rules")
    return render(request, "leads/routing_rule_delete.html", {"rule": rule})


@login_required
@require_POST
def routing_rule_move(request, pk):
    """Move a rule one place up or down; answers the refreshed table to htmx."""
    _require_manager(request)
    rule = get_object_or_404(RoutingRule, pk=pk)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return render(
            request,
            "leads/_routing_table.html",
            {"rules": routing_rules_overview(), "error": "Move a rule up or down."},
            status=400,
        )
    routing_services.routing_rule_move(rule=rule, direction=direction)
    if request.htmx:
        return render(request, "leads/_routing_table.html", {"rules": routing_rules_overview()})
    return redirect("leads:routing_rules")
