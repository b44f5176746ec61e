"""REST API: `audit/`, the audit log (managers only)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts import audit
from accounts.permissions import sees_audit


class SeesAudit(permissions.BasePermission):
    message = "The audit log is for managers."

    def has_permission(self, request, view) -> bool:
        return sees_audit(request.user)


def _audit_entries():
    """The schema of the page's entries (a list)."""
    return inline_serializer(
        "AuditEntry",
        {
            "at": serializers.DateTimeField(help_text="When the change was committed."),
            "actor": serializers.CharField(
                allow_null=True, help_text="Username of who made it; null for the system (a job)."
            ),
            "path": serializers.CharField(help_text="The page or API path it was made through."),
            "subject": serializers.CharField(help_text="The kind of object changed."),
            "object_id": serializers.CharField(allow_null=True),
            "label": serializers.CharField(),
            "action": serializers.CharField(
                help_text="created, changed, deleted, owner changed, role given, role taken away."
            ),
            "changes": inline_serializer(
                "AuditChange",
                {
                    "field": serializers.CharField(),
                    "before": serializers.JSONField(allow_null=True),
                    "after": serializers.JSONField(allow_null=True),
                },
                many=True,
            ),
        },
        many=True,
    )


class AuditViewSet(viewsets.ViewSet):
    """Who changed agreements, calendars, definitions, routing, ownership, roles and webhooks."""

    permission_classes = [permissions.IsAuthenticated, SeesAudit]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "subject",
                str,
                description="One kind of object: " + ", ".join(key for key, _ in audit.subjects()),
            ),
            OpenApiParameter("page", int, description="The page, from 1 (newest first)."),
            OpenApiParameter(
                "page_size", int, description=f"Entries per page, at most {audit.PAGE_MAX}."
            ),
        ],
        responses=inline_serializer(
            "AuditLogPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": _audit_entries(),
            },
        ),
        summary="The audit log, newest first",
    )
    def list(self, request):
        subjects = [key for key, _ in audit.subjects()]
        subject = request.query_params.get("subject") or None
        if subject is not None and subject not in subjects:
            raise ValidationError({"subject": [f"One of: {', '.join(subjects)}."]})
        page = _whole(request.query_params.get("page"), "page", 1, 10**6, minimum=1)
        size = _whole(
            request.query_params.get("page_size"), "page_size", 50, audit.PAGE_MAX, minimum=1
        )
        entries, more = audit.audit_entries(subject=subject, offset=(page - 1) * size, limit=size)
        return Response(
            {
                "count": audit.audit_count(subject=subject),
                "next": _page_link(request, page + 1) if more else None,
                "previous": _page_link(request, page - 1) if page > 1 else None,
                "results": [
                    {
                        "at": entry.at,
                        "actor": entry.actor or None,
                        "path": entry.path,
                        "subject": entry.subject,
                        "object_id": entry.object_id,
                        "label": entry.label,
                        "action": entry.action,
                        "changes": [
                            {"field": name, "before": before, "after": after}
                            for name, before, after in entry.changes
                        ],
                    }
                    for entry in entries
                ],
            }
        )


def _page_link(request, page: int) -> str:
    query = request.query_params.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _whole(text, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    if text in (None, ""):
        return default
    if not text.isdigit() or len(text) > 9 or not minimum <= int(text) <= maximum:
        raise ValidationError({name: [f"A whole number from {minimum} to {maximum:,}."]})
    return int(text)
