from django.urls import path

from personas import views

app_name = "personas"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.persona_form, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.persona_form, name="edit"),
    path("<int:pk>/interviews/new/", views.interview_form, name="interview_create"),
    path(
        "<int:pk>/interviews/<int:interview_pk>/edit/",
        views.interview_edit,
        name="interview_edit",
    ),
    path(
        "<int:pk>/interviews/<int:interview_pk>/delete/",
        views.interview_delete,
        name="interview_delete",
    ),
    path("<int:pk>/journey/", views.journey_form, name="journey"),
]
