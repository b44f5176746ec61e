"""Project-level views: the health check and error pages."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection
from rest_framework.authtoken.views import ObtainAuthToken

from core.parsers import body_too_large_message

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """Answer 200 when the database and the broker both answer, else 503 with what failed."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        broker = Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            connect_timeout=2,
        )
        with broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: broker check failed: %s", exc)
        checks["broker"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    # The cache is an optimisation: without it pages compute and throttling lets requests
    # through, so a cache outage degrades the service without making it unavailable.
    try:
        cache.set("healthz", "ok", timeout=10)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "error: not stored"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: cache check failed: %s", exc)
        checks["cache"] = f"error: {exc.__class__.__name__}"
    status = "ok" if checks["cache"] == "ok" else "degraded"
    return JsonResponse(
        {"status": status if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def error_404(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return render(request, "404.html", status=404)


def error_403(request, exception=None):
    if _wants_json(request):
        return JsonResponse(
            {
                "detail": "You do not have permission to perform this action.",
                "code": "permission_denied",
            },
            status=403,
        )
    return render(request, "403.html", status=403)


def error_400(request, exception=None):
    if _wants_json(request):
        if isinstance(exception, RequestDataTooBig):
            body = {"detail": body_too_large_message(), "code": "too_large"}
            return JsonResponse(body, status=400)
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return render(request, "400.html", status=400)


def error_500(request):
    if _wants_json(request):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return render(request, "500.html", status=500)


def locked_out(request, response=None, credentials=None, *args, **kwargs):
    """django-axes' answer to a locked-out sign-in: 429 with when to try again, as JSON
    for the API and as a page for browsers."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-in attempts for this account from your address. Try again in "
        f"{minutes} minutes, or ask an administrator to unlock it."
    )
    retry = {"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))}
    path = getattr(request, "path", "")
    if path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429, headers=retry)
    page = render(request, "registration/locked_out.html", {"message": message}, status=429)
    page["Retry-After"] = retry["Retry-After"]
    return page


class TokenView(ObtainAuthToken):
    """`POST /api/v1/auth/token/`, with password guessing locked out like the login page.

    The serializer authenticates with the Django request, not DRF's, so that django-axes
    records the lockout where its middleware finds it and answers 429.
    """

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "request": self.request._request}


def favicon(request):
    """The icon's static URL, resolved per request (hashed names exist after collectstatic)."""
    return redirect(static("img/favicon.svg"), permanent=True)
