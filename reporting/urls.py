from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("funnel/leads/", views.funnel_leads, name="funnel_leads"),
    path("quality/", views.lead_quality, name="quality"),
    path("definitions/", views.definitions, name="definitions"),
    path("operations/", views.operations, name="operations"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/items/", views.review_item_add, name="review_item_add"),
    path(
        "reviews/<int:pk>/items/<int:item_pk>/toggle/",
        views.review_item_toggle,
        name="review_item_toggle",
    ),
]
