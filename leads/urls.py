from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/attempts/", views.attempt, name="attempt"),
    path("<int:pk>/feedback/", views.feedback, name="feedback"),
    path("definitions/", views.definitions, name="definitions"),
    path("definitions/<int:pk>/activate/", views.definition_activate, name="definition_activate"),
    path("rescoring/<int:pk>/", views.rescore_progress, name="rescore_progress"),
    path("imports/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/rejected.csv", views.import_errors, name="import_errors"),
    path("routing/", views.routing_rules, name="routing_rules"),
    path("routing/new/", views.routing_rule_edit, name="routing_rule_new"),
    path("routing/<int:pk>/edit/", views.routing_rule_edit, name="routing_rule_edit"),
    path("routing/<int:pk>/delete/", views.routing_rule_delete, name="routing_rule_delete"),
    path("routing/<int:pk>/move/", views.routing_rule_move, name="routing_rule_move"),
]
