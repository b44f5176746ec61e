"""Pages of webhooks: subscriptions (created, edited, paused and resumed, deleted after a
confirmation by the Integrations role; read by managers too), the recent deliveries of
each, a test send."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.forms import apply_errors
from webhooks import services
from webhooks.forms import WebhookSubscriptionForm
from webhooks.models import WebhookAttempt, WebhookSubscription


def _subscriptions():
    return (
        WebhookSubscription.objects.defer("secret")
        .annotate(
            delivered=Count("deliveries", filter=Q(deliveries__status="succeeded")),
            failing=Count("deliveries", filter=Q(deliveries__status__in=["retrying", "failed"])),
        )
        .order_by("name", "id")
    )


def _may(request, action: str) -> bool:
    return request.user.has_perm(f"webhooks.{action}_webhooksubscription")


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("webhooks.view_webhooksubscription", raise_exception=True)
def index(request):
    """Subscriptions, and a form to add one (the secret is shown once, right after)."""
    created = None
    form = None
    if request.method == "POST":
        if not _may(request, "add"):
            raise PermissionDenied("The Integrations role manages webhooks.")
        form = WebhookSubscriptionForm(request.POST)
        if form.is_valid():
            try:
                created = services.webhook_subscription_create(
                    created_by=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                form = None
    return render(
        request,
        "webhooks/webhooks.html",
        {
            "subscriptions": _subscriptions(),
            "created": created,
            "form": form if form is not None else WebhookSubscriptionForm(),
            "can_add": _may(request, "add"),
            "can_change": _may(request, "change"),
            "can_delete": _may(request, "delete"),
        },
        status=400 if form is not None and form.errors else 200,
    )


def _delivery_log(subscription):
    return subscription.deliveries.prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
    ).order_by("-created_at", "-id")[:50]


@login_required
@permission_required("webhooks.view_webhooksubscription", raise_exception=True)
def detail(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return render(
        request,
        "webhooks/webhook_detail.html",
        {
            "subscription": subscription,
            "deliveries": _delivery_log(subscription),
            "can_test": _may(request, "add"),
            "can_change": _may(request, "change"),
            "can_delete": _may(request, "delete"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("webhooks.change_webhooksubscription", raise_exception=True)
def edit(request, pk: int):
    """Change the name, receiver URL or events; the signing secret stays as it is."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = WebhookSubscriptionForm(
        request.POST if request.method == "POST" else None, subscription=subscription
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_subscription_update(subscription=subscription, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Subscription “{subscription}” is saved.")
            return redirect(subscription.get_absolute_url())
    return render(
        request,
        "webhooks/webhook_form.html",
        {"form": form, "subscription": subscription},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
@permission_required("webhooks.change_webhooksubscription", raise_exception=True)
def pause(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.webhook_subscription_pause(subscription=subscription)
    messages.success(
        request, f"“{subscription}” is paused: new events are not sent to it until resumed."
    )
    return redirect(_back(request, subscription))


@login_required
@require_POST
@permission_required("webhooks.change_webhooksubscription", raise_exception=True)
def resume(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.webhook_subscription_resume(subscription=subscription)
    messages.success(
        request,
        f"“{subscription}” is active again: events from now on are sent to it (the ones "
        "that happened while it was paused are not).",
    )
    return redirect(_back(request, subscription))


def _back(request, subscription) -> str:
    """Back to the list when the button was there, else to the subscription."""
    if request.POST.get("next") == "list":
        return reverse("webhooks:index")
    return subscription.get_absolute_url()


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("webhooks.delete_webhooksubscription", raise_exception=True)
def delete(request, pk: int):
    """GET asks for confirmation; POST deletes the subscription and its delivery log."""
    subscription = get_object_or_404(
        WebhookSubscription.objects.annotate(delivery_count=Count("deliveries")), pk=pk
    )
    if request.method == "POST":
        name = str(subscription)
        services.webhook_subscription_delete(subscription=subscription)
        messages.success(request, f"Subscription “{name}” is deleted; nothing more is sent to it.")
        return redirect("webhooks:index")
    return render(request, "webhooks/webhook_delete.html", {"subscription": subscription})


@login_required
@require_POST
@permission_required("webhooks.add_webhooksubscription", raise_exception=True)
def test(request, pk: int):
    """Send a test event; answers the refreshed delivery log (htmx) or redirects."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.webhook_test_send(subscription=subscription)
    if request.htmx:
        return render(
            request,
            "webhooks/_delivery_log.html",
            {"deliveries": _delivery_log(subscription), "sent": True},
        )
    messages.success(request, "A test event is on its way.")
    return redirect(subscription.get_absolute_url())


@login_required
@permission_required("webhooks.view_webhooksubscription", raise_exception=True)
def deliveries(request, pk: int):
    """The delivery log alone (htmx refresh)."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return render(
        request, "webhooks/_delivery_log.html", {"deliveries": _delivery_log(subscription)}
    )
