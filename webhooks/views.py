"""Pages of webhooks: subscriptions, the delivery log of each, a test send."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookSubscription
from webhooks.services import EVENT_TYPES


@login_required
@permission_required("webhooks.view_webhooksubscription", raise_exception=True)
def index(request):
    """Subscriptions, and a form to add one (the secret is shown once, right after)."""
    form_errors: dict[str, str] = {}
    created = None
    if request.method == "POST":
        if not request.user.has_perm("webhooks.add_webhooksubscription"):
            return render(request, "403.html", status=403)
        try:
            created = services.webhook_subscription_create(
                name=(request.POST.get("name") or "").strip() or "Webhook",
                url=(request.POST.get("url") or "").strip(),
                event_types=request.POST.getlist("event_types"),
                created_by=request.user,
            )
        except DomainError as exc:
            form_errors[exc.field or "url"] = exc.message
    subscriptions = WebhookSubscription.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status="succeeded")),
        failing=Count("deliveries", filter=Q(deliveries__status__in=["retrying", "failed"])),
    ).order_by("name", "id")
    return render(
        request,
        "webhooks/webhooks.html",
        {
            "subscriptions": subscriptions,
            "event_types": EVENT_TYPES,
            "created": created,
            "form_errors": form_errors,
            "form_values": request.POST if form_errors else {},
            "can_add": request.user.has_perm("webhooks.add_webhooksubscription"),
        },
        status=400 if form_errors else 200,
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
            "can_test": request.user.has_perm("webhooks.add_webhooksubscription"),
        },
    )


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
