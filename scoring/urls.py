from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("rulesets/", views.ruleset_list, name="rulesets"),
    path("rulesets/new/", views.ruleset_new, name="ruleset-new"),
    path("rulesets/import/", views.ruleset_import, name="ruleset-import"),
    path("rulesets/<int:version>/", views.ruleset_detail, name="ruleset"),
    path("rulesets/<int:version>/export/", views.ruleset_export, name="ruleset-export"),
    path("rulesets/<int:version>/restore/", views.ruleset_restore, name="ruleset-restore"),
    path("rulesets/<int:version>/publish/", views.ruleset_publish, name="ruleset-publish"),
    path("rulesets/<int:version>/simulate/", views.ruleset_simulate, name="ruleset-simulate"),
    path(
        "rulesets/<int:version>/sections/<slug:section>/",
        views.ruleset_section,
        name="ruleset-section",
    ),
    path(
        "rulesets/<int:version>/rules/<slug:kind>/<str:rule_id>/",
        views.ruleset_rule,
        name="ruleset-rule",
    ),
    path(
        "rulesets/<int:version>/rules/<slug:kind>/<str:rule_id>/delete/",
        views.ruleset_rule_delete,
        name="ruleset-rule-delete",
    ),
    path("simulations/<int:simulation_id>/", views.simulation_panel, name="simulation"),
    path("runs/<int:run_id>/progress/", views.rescore_run_progress, name="run-progress"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
]
