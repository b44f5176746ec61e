from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("funnel/leads/", views.funnel_leads, name="funnel_leads"),
    path("quality/", views.lead_quality, name="quality"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("webhooks/<int:pk>/deliveries/", views.webhook_deliveries, name="webhook_deliveries"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/items/", views.review_item_add, name="review_item_add"),
    path(
        "reviews/<int:pk>/items/<int:item_pk>/toggle/",
        views.review_item_toggle,
        name="review_item_toggle",
    ),
]
