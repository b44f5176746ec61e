"""Template context for every page: the notification bell's unread count."""

from django.utils.functional import SimpleLazyObject

from accounts.models import Notification


def notifications(request):
    """`notification_unread_count`: evaluated only when a template shows it (one indexed count)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "notification_unread_count": SimpleLazyObject(
            lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
        )
    }
