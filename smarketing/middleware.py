"""Answer health probes under any Host; refuse input that no field may hold, before any view
sees it; send the security policy."""

from django.http import JsonResponse
from django.shortcuts import render

from smarketing.views import healthz

NUL_MESSAGE = "The request contains a NUL character (\\x00), which no field accepts."


class HealthCheckMiddleware:
    """Answer `/healthz` before the Host is checked or HTTPS is required (first in the list).

    Container and load-balancer probes address the server by its IP over plain HTTP
    (compose: `http://127.0.0.1:8000/healthz`): that Host is no site name in
    ALLOWED_HOSTS, so the probe would get a 400 and report a healthy server as down. The
    answer builds no URL from the Host and says only which services answer. Every other
    path keeps the Host check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)


class RejectNullCharactersMiddleware:
    """Answer 400 to a NUL character in the query string, form fields or a JSON body.

    PostgreSQL cannot store NUL in text or JSON; without this, a view that filters on a raw
    query parameter, or a JSON attribute holding "\\u0000", would fail with a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE, "code": "invalid"}, status=400)
            return render(request, "400.html", {"message": NUL_MESSAGE}, status=400)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in value for values in request.GET.lists() for value in values[1]
        ):
            return True
        content_type = request.content_type or ""
        if request.method in ("POST", "PUT", "PATCH"):
            if content_type == "application/json":
                body = request.body
                return b"\x00" in body or b"\\u0000" in body
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return any(
                    "\x00" in value for _key, values in request.POST.lists() for value in values
                )
        return False


class ContentSecurityPolicyMiddleware:
    """Send `settings.CONTENT_SECURITY_POLICY` with every response that has none.

    Templates carry no inline script or handler (a test scans them), so scripts may come
    from this origin only: an injected `<script>` in any page does not run.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.policy = settings.CONTENT_SECURITY_POLICY
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
