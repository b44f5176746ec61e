from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reporting.views import dashboard
from smarketing import views
from smarketing.api import router

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that do not name their icon (admin, API docs).
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", views.TokenView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns += [
    path("leads/", include("leads.urls")),
    path("personas/", include("personas.urls")),
    path("sla/", include("sla.urls")),
    path("goals/", include("goals.urls")),
    path("reports/webhooks/", include("webhooks.urls")),
    path("reports/", include("reporting.urls")),
]

handler400 = "smarketing.views.error_400"
handler403 = "smarketing.views.error_403"
handler404 = "smarketing.views.error_404"
handler500 = "smarketing.views.error_500"
