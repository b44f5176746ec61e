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
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/archive/", views.campaign_archive, name="campaign_archive"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/archive/", views.product_archive, name="product_archive"),
    path("products/<int:pk>/delete/", views.product_delete, name="product_delete"),
    path("definitions/", views.definitions, name="definitions"),
    path("definitions/new/", views.definition_new, name="definition_new"),
    path("definitions/preview/", views.definition_preview, name="definition_preview"),
    path("definitions/<int:pk>/", views.definition_detail, name="definition_detail"),
    path("definitions/<int:pk>/activate/", views.definition_activate, name="definition_activate"),
    path("definitions/<int:pk>/submit/", views.definition_submit, name="definition_submit"),
    path(
        "definitions/<int:pk>/send-back/", views.definition_send_back, name="definition_send_back"
    ),
    path("rescoring/<int:pk>/", views.rescore_progress, name="rescore_progress"),
    path("rescoring/<int:pk>/restart/", views.rescore_restart, name="rescore_restart"),
    path("imports/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/rejected.csv", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/restart/", views.import_restart, name="import_restart"),
    path("routing/", views.routing_rules, name="routing_rules"),
    path("routing/new/", views.routing_rule_edit, name="routing_rule_new"),
    path("routing/<int:pk>/edit/", views.routing_rule_edit, name="routing_rule_edit"),
    path("routing/<int:pk>/delete/", views.routing_rule_delete, name="routing_rule_delete"),
    path("routing/<int:pk>/move/", views.routing_rule_move, name="routing_rule_move"),
]
