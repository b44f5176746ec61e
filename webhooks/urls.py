from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/test/", views.test, name="test"),
    path("<int:pk>/deliveries/", views.deliveries, name="deliveries"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
