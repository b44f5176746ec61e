from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
]
