from django.urls import path

from handoff import views

app_name = "handoff"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("send/", views.send_to_sales, name="send"),
    path("leads/<int:lead_id>/", views.lead_handoffs, name="lead"),
    path("manager/", views.manager, name="manager"),
    path("feedback/", views.feedback, name="feedback"),
    path("routing/", views.routing, name="routing"),
    path("routing/rules/new/", views.rule_edit, name="rule_create"),
    path("routing/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("routing/rules/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("routing/rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("reps/", views.reps, name="reps"),
    path("reps/<int:rep_id>/", views.rep_edit, name="rep_edit"),
    path("settings/", views.handoff_settings, name="settings"),
    path("<int:handoff_id>/", views.handoff_detail, name="detail"),
    path("<int:handoff_id>/accept/", views.handoff_accept, name="accept"),
    path("<int:handoff_id>/reject/", views.handoff_reject, name="reject"),
    path("<int:handoff_id>/close/", views.handoff_close, name="close"),
    path("<int:handoff_id>/reassign/", views.handoff_reassign, name="reassign"),
    path("<int:handoff_id>/withdraw/", views.handoff_withdraw, name="withdraw"),
]
