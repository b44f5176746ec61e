from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from accounts.forms import ProfileForm
from accounts.models import Notification
from accounts.permissions import manages_tokens, sees_audit
from accounts.services import api_token_issue, api_token_revoke, notifications_mark_read

NOTIFICATIONS_PER_PAGE = 30
MENU_SIZE = 8


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile was saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_GET
def notification_list(request):
    """The signed-in user's notifications, newest first; `?unread=1` shows unread ones only."""
    unread_only = request.GET.get("unread") == "1"
    notifications = Notification.objects.filter(user=request.user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/notifications.html",
        {"page": page, "unread_only": unread_only},
    )


@login_required
@require_GET
def notification_menu(request):
    """The bell's dropdown (loaded by htmx when it opens): the latest notifications."""
    latest = list(Notification.objects.filter(user=request.user)[:MENU_SIZE])
    return render(request, "accounts/_notification_menu.html", {"notifications": latest})


@login_required
@require_POST
def notifications_read(request):
    """Mark one (`id`) or all of the user's unread notifications read."""
    raw_id = request.POST.get("id")
    ids = None
    if raw_id:
        try:
            ids = [int(raw_id)]
        except ValueError:
            return HttpResponseBadRequest("The notification id must be a number.")
    notifications_mark_read(user=request.user, ids=ids)
    if request.htmx:
        if ids is not None and request.POST.get("from") == "list":
            notification = get_object_or_404(Notification, pk=ids[0], user=request.user)
            return render(
                request, "accounts/_notification_row.html", {"n": notification, "oob_count": True}
            )
        if request.POST.get("from") == "list":
            return redirect_htmx(request, "accounts:notifications")
        latest = list(Notification.objects.filter(user=request.user)[:MENU_SIZE])
        return render(request, "accounts/_notification_menu.html", {"notifications": latest})
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("accounts:notifications")


def redirect_htmx(request, name: str) -> HttpResponse:
    """Ask htmx to load another page (a full navigation, e.g. after a list-wide change)."""
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse(name)
    return response


@login_required
@require_GET
def notification_open(request, pk):
    """Mark a notification read and go to what it is about (repeating it changes nothing)."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("accounts:notifications")
    return redirect(url)


AUDIT_PAGE_SIZE = 50


@login_required
@require_GET
def audit_log(request):
    """Who changed what and when, newest first, a page at a time."""
    if not sees_audit(request.user):
        raise PermissionDenied("The audit log is for managers.")
    subjects = audit.subjects()
    subject = request.GET.get("subject") or None
    if subject not in {key for key, _ in subjects}:
        subject = None
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() and 0 < len(page) < 6 else 1
    entries, more = audit.audit_entries(
        subject=subject, offset=(number - 1) * AUDIT_PAGE_SIZE, limit=AUDIT_PAGE_SIZE
    )
    return render(
        request,
        "accounts/audit.html",
        {
            "entries": entries,
            "subjects": subjects,
            "subject": subject,
            "page": number,
            "more": more,
        },
    )


@login_required
def api_tokens(request):
    """Who holds an API token; issue (or rotate) one for a person, revoke one."""
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    if not manages_tokens(request.user):
        raise PermissionDenied("API tokens are managed by the Integrations role.")
    issued = None
    error = ""
    if request.method == "POST":
        raw = request.POST.get("user", "")
        person = (
            User.objects.filter(pk=int(raw), is_active=True).first()
            if raw.isdigit() and len(raw) < 12
            else None
        )
        if person is None:
            error = "Choose an active person from the list."
        elif request.POST.get("action") == "revoke":
            if api_token_revoke(user=person):
                messages.success(request, f"{person}'s API token is revoked.")
            else:
                messages.info(request, f"{person} had no API token.")
            return redirect("accounts:api_tokens")
        else:
            issued = (person, api_token_issue(user=person))
    tokens = Token.objects.select_related("user").order_by("user__username")
    people = User.objects.filter(is_active=True).order_by("username")
    return render(
        request,
        "accounts/api_tokens.html",
        {"tokens": tokens, "people": people, "issued": issued, "error": error},
        status=400 if error else 200,
    )
