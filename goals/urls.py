from django.urls import path

from goals import views

app_name = "goals"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.goal_form, name="goal_create"),
    path("<int:pk>/", views.goal_detail, name="goal_detail"),
    path("<int:pk>/edit/", views.goal_form, name="goal_edit"),
    path("<int:pk>/template/", views.goal_print, name="goal_print"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_form, name="plan_create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", views.plan_form, name="plan_edit"),
    path("plans/<int:pk>/create-goals/", views.plan_create_goals, name="plan_create_goals"),
    path("plans/<int:pk>/set-commitment/", views.plan_set_commitment, name="plan_set_commitment"),
    path("plans/<int:pk>/remeasure/", views.plan_remeasure, name="plan_remeasure"),
    path("okrs/", views.okr_quarter, name="okrs"),
    path("okrs/new/", views.objective_form, name="objective_create"),
    path("okrs/<int:pk>/key-results/new/", views.key_result_form, name="key_result_create"),
    path("key-results/<int:pk>/check-in/", views.check_in, name="check_in"),
]
