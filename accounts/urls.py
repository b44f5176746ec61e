from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("audit/", views.audit_log, name="audit"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/menu/", views.notification_menu, name="notifications_menu"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
