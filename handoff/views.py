"""Pages of the handoff app: rep inbox, handoff detail and decisions, manager page, feedback, routing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from handoff import selectors, services
from handoff.forms import (
    AcceptForm,
    CloseForm,
    DryRunForm,
    HandoffSettingsForm,
    ReassignForm,
    RejectForm,
    RepForm,
    RoutingRuleForm,
    SendToSalesForm,
)
from handoff.models import Handoff, HandoffStatus, OutcomeReason, RejectReason, RoutingRule
from handoff.routing import route_lead
from leadflow.errors import ApplicationError
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, has_role
from leads.models import Lead
from leads.views import UNSENT_NOTE_SESSION_KEY

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

# Each row of the managers' page carries a reassign menu listing every rep.
MANAGER_PAGE_SIZE = 100


def role_required(*roles: str) -> Callable[[View], View]:
    """Let only logged-in users holding one of `roles` through; others get 403."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- Send to sales ---------------------------------------------------------------------------


@require_POST
@role_required(MARKETING, REVOPS)
def send_to_sales(request: HttpRequest) -> HttpResponse:
    """Send the posted lead ids (`lead_ids`, repeated or comma-separated) to sales."""
    form = SendToSalesForm(request.POST, lead_ids=request.POST.getlist("lead_ids"))
    fallback = reverse("leads:queue")
    if not form.is_valid():
        for message in form.non_field_errors():
            messages.error(request, str(message))
        return redirect(_safe_next(request, fallback))

    result = services.handoff_send(
        lead_ids=form.cleaned_data["lead_ids"],
        actor=request.user,
        marketing_notes=form.cleaned_data["marketing_notes"],
    )

    if result.created:
        queued = sum(1 for handoff in result.created if handoff.rep_id is None)
        summary = (
            f"Sent {len(result.created)} lead{'s' if len(result.created) != 1 else ''} to sales"
        )
        if len(result.created) == 1 and result.created[0].rep is not None:
            summary += f": assigned to {result.created[0].rep.display_name}"
        if queued:
            summary += f"; {queued} waiting in the fallback queue"
        messages.success(request, summary + ".")
    for failure in result.errors:
        messages.error(request, failure["message"])
    if not result.created and form.cleaned_data["marketing_notes"]:
        # Nothing was sent, so the lead page fills the typed note in again.
        request.session[UNSENT_NOTE_SESSION_KEY] = {
            "lead_ids": form.cleaned_data["lead_ids"],
            "note": form.cleaned_data["marketing_notes"],
        }

    if len(result.created) == 1 and not result.errors and "next" not in request.POST:
        return redirect("handoff:lead", lead_id=result.created[0].lead_id)
    return redirect(_safe_next(request, fallback))


@role_required(MARKETING, REVOPS, SALES_MANAGER)
def lead_handoffs(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Show a lead's handoffs, decisions, rejection and loss reasons, and the send-to-sales button."""
    lead = get_object_or_404(Lead.objects.select_related("account", "owner"), pk=lead_id)
    handoffs = list(selectors.lead_handoffs(lead))
    return render(
        request,
        "handoff/lead.html",
        {
            "lead": lead,
            "handoffs": handoffs,
            "events": selectors.lead_handoff_events(lead),
            "open_handoff": next((handoff for handoff in handoffs if handoff.is_open), None),
            "can_send": lead.status == "mql" and not any(handoff.is_open for handoff in handoffs),
        },
    )


# --- Rep inbox and handoff detail ---------------------------------------------------------------


@role_required(SALES, SALES_MANAGER, REVOPS)
def inbox(request: HttpRequest) -> HttpResponse:
    rep = selectors.rep_for_user(request.user)
    if rep is None:
        if has_role(request.user, SALES_MANAGER, REVOPS):
            return redirect("handoff:manager")
        # A sales user lands here from the home page, so the page explains how to get an inbox.
        return render(
            request,
            "handoff/inbox.html",
            {"rep": None, "revops_contacts": selectors.revops_contacts(), "nav": "inbox"},
        )

    now = timezone.now()
    return render(
        request,
        "handoff/inbox.html",
        {
            "rep": rep,
            "pending": selectors.rep_pending(rep),
            "open_sqls": selectors.rep_open_sqls(rep),
            "assists": selectors.expert_pending(rep),
            "queue": selectors.fallback_queue()[:20],
            "now": now,
            "nav": "inbox",
        },
    )


def _detail_context(request: HttpRequest, handoff: Handoff, **forms: Any) -> dict[str, Any]:
    settings_row = services.handoff_settings_get()
    rep = selectors.rep_for_user(request.user)
    is_manager = has_role(request.user, SALES_MANAGER, REVOPS)
    is_assignee = rep is not None and handoff.rep_id == rep.pk
    can_claim = rep is not None and handoff.in_queue
    return {
        "handoff": handoff,
        "context": handoff.context,
        "events": handoff.events.select_related("actor", "rep__user").order_by("created_at", "id"),
        "accept_form": forms.get("accept_form")
        or AcceptForm(required_fields=settings_row.required_qualification_fields),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "close_form": forms.get("close_form") or CloseForm(),
        "reassign_form": forms.get("reassign_form")
        or ReassignForm(reps=selectors.reps_with_load().filter(is_active=True)),
        "can_decide": handoff.is_open and (is_assignee or can_claim),
        "can_reject": handoff.is_open and (is_assignee or is_manager),
        "can_close": handoff.status == HandoffStatus.ACCEPTED
        and not handoff.outcome
        and (is_assignee or is_manager),
        "can_reassign": handoff.is_open and is_manager,
        "can_withdraw": handoff.is_open and has_role(request.user, MARKETING, REVOPS),
        "is_overdue": handoff.is_open
        and handoff.due_at is not None
        and handoff.due_at <= timezone.now(),
        "nav": "manager" if is_manager and not is_assignee else "inbox",
    }


def _visible_handoff(request: HttpRequest, handoff_id: int) -> Handoff:
    return get_object_or_404(selectors.handoffs_actionable_by(request.user), pk=handoff_id)


@role_required(SALES, SALES_MANAGER, REVOPS, MARKETING)
def handoff_detail(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    return render(request, "handoff/detail.html", _detail_context(request, handoff))


def _render_detail_with_errors(
    request: HttpRequest, handoff: Handoff, error: ApplicationError, form_name: str, form: Any
) -> HttpResponse:
    for field, field_messages in (error.extra.get("fields") or {}).items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)
    if not error.extra.get("fields"):
        form.add_error(None, error.message)
    messages.error(request, error.message)
    context = _detail_context(request, handoff, **{form_name: form})
    return render(request, "handoff/detail.html", context, status=400)


@require_POST
@role_required(SALES)
def handoff_accept(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    settings_row = services.handoff_settings_get()
    form = AcceptForm(request.POST, required_fields=settings_row.required_qualification_fields)
    if not form.is_valid():
        messages.error(request, "Correct the marked fields.")
        return render(
            request,
            "handoff/detail.html",
            _detail_context(request, handoff, accept_form=form),
            status=400,
        )
    try:
        services.handoff_accept(
            handoff_id=handoff.pk,
            actor=request.user,
            qualification=form.qualification(),
            next_step=form.cleaned_data["next_step"] or "",
            next_step_date=form.cleaned_data["next_step_date"],
        )
    except ApplicationError as error:
        handoff.refresh_from_db()
        return _render_detail_with_errors(request, handoff, error, "accept_form", form)
    messages.success(request, f"Accepted: {handoff.lead.display_name} is now your SQL.")
    return redirect("handoff:detail", handoff_id=handoff.pk)


@require_POST
@role_required(SALES, SALES_MANAGER, REVOPS)
def handoff_reject(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a rejection reason.")
        return render(
            request,
            "handoff/detail.html",
            _detail_context(request, handoff, reject_form=form),
            status=400,
        )
    try:
        services.handoff_reject(
            handoff_id=handoff.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as error:
        handoff.refresh_from_db()
        return _render_detail_with_errors(request, handoff, error, "reject_form", form)
    label = RejectReason(form.cleaned_data["reason"]).label
    messages.success(request, f"Rejected as “{label}”; marketing sees the reason.")
    return redirect("handoff:inbox" if has_role(request.user, SALES) else "handoff:manager")


@require_POST
@role_required(SALES, SALES_MANAGER, REVOPS)
def handoff_close(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose won or lost and a reason.")
        return render(
            request,
            "handoff/detail.html",
            _detail_context(request, handoff, close_form=form),
            status=400,
        )
    try:
        services.handoff_close(
            handoff_id=handoff.pk,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as error:
        handoff.refresh_from_db()
        return _render_detail_with_errors(request, handoff, error, "close_form", form)
    label = OutcomeReason(form.cleaned_data["reason"]).label
    messages.success(request, f"Closed as {form.cleaned_data['outcome']} ({label}).")
    return redirect("handoff:detail", handoff_id=handoff.pk)


@require_POST
@role_required(SALES_MANAGER, REVOPS)
def handoff_reassign(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    form = ReassignForm(request.POST, reps=selectors.reps_with_load().filter(is_active=True))
    fallback = reverse("handoff:manager")
    if not form.is_valid():
        messages.error(request, "Choose a rep from the list.")
        return redirect(_safe_next(request, fallback))
    to_rep = form.cleaned_data["to_rep"]
    try:
        successor = services.handoff_reassign(
            handoff_id=handoff.pk,
            actor=request.user,
            to_rep_id=to_rep.pk if to_rep else None,
            note=form.cleaned_data["note"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_safe_next(request, fallback))
    target = successor.rep.display_name if successor.rep else "the fallback queue"
    messages.success(request, f"Reassigned {handoff.lead.display_name} to {target}.")
    return redirect(_safe_next(request, fallback))


@require_POST
@role_required(MARKETING, REVOPS)
def handoff_withdraw(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = _visible_handoff(request, handoff_id)
    try:
        services.handoff_withdraw(
            handoff_id=handoff.pk, actor=request.user, note=request.POST.get("note", "")[:2000]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Handoff withdrawn; the lead is back in the MQL queue.")
    return redirect("handoff:lead", lead_id=handoff.lead_id)


# --- Manager page and feedback ---------------------------------------------------------------------


@role_required(SALES_MANAGER, REVOPS)
def manager(request: HttpRequest) -> HttpResponse:
    """Show open handoffs oldest first with their age and breaches, and each rep's load."""
    now = timezone.now()
    only_overdue = request.GET.get("overdue") == "1"
    queryset = selectors.manager_open_handoffs(now=now, only_overdue=only_overdue)
    page = Paginator(queryset, MANAGER_PAGE_SIZE).get_page(request.GET.get("page"))
    reps = list(selectors.reps_with_load())
    return render(
        request,
        "handoff/manager.html",
        {
            "rows": selectors.with_age(list(page), now=now),
            "page": page,
            "only_overdue": only_overdue,
            "open_count": selectors.manager_open_handoffs(now=now).count(),
            "overdue_count": selectors.manager_open_handoffs(now=now, only_overdue=True).count(),
            "breaches": selectors.recent_breaches(limit=20),
            "reps": reps,
            "reassign_form": ReassignForm(reps=selectors.reps_with_load().filter(is_active=True)),
            "today": timezone.localdate(),
            "nav": "manager",
        },
    )


@role_required(MARKETING, REVOPS, SALES_MANAGER)
def feedback(request: HttpRequest) -> HttpResponse:
    """List every rejection and won or lost outcome with its reason, filtered by reason, segment, campaign or rule."""
    filters = {name: request.GET.get(name, "").strip() for name in selectors.FEEDBACK_FILTERS}
    queryset = selectors.feedback_queryset(filters)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "handoff/feedback.html",
        {
            "page": page,
            "filters": filters,
            "summary": selectors.feedback_summary(queryset),
            "reasons": [*RejectReason.choices, *OutcomeReason.choices],
            "rules": RoutingRule.objects.order_by("position", "id"),
            "nav": "feedback",
        },
    )


# --- Routing rules, reps and settings (revenue operations) -----------------------------------------


def _rule_initial(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "regions": rule.regions,
        "segments": rule.segments,
        "product_interests": rule.product_interests,
        "territories": list(rule.territories.all()),
        "reps": list(rule.reps.all()),
        "strategy": rule.strategy,
        "sla_hours": rule.sla_hours,
    }


@role_required(REVOPS, SALES_MANAGER, MARKETING)
def routing(request: HttpRequest) -> HttpResponse:
    """Show the ordered routing rules and, given a lead id, a dry-run of its routing."""
    dry_run = None
    form = DryRunForm(request.GET or None)
    if form.is_valid():
        lead = (
            Lead.objects.select_related("account__owner")
            .filter(pk=form.cleaned_data["lead_id"])
            .first()
        )
        if lead is None:
            form.add_error("lead_id", f"Lead {form.cleaned_data['lead_id']} does not exist.")
        else:
            settings_row = services.handoff_settings_get()
            decision = route_lead(lead, default_sla_hours=settings_row.default_sla_hours)
            dry_run = {"lead": lead, "trace": decision.as_trace()}
    return render(
        request,
        "handoff/routing.html",
        {
            "rules": selectors.routing_rules(),
            "dry_run_form": form,
            "dry_run": dry_run,
            "can_edit": has_role(request.user, REVOPS),
            "nav": "routing",
        },
    )


def _rule_fields(form: RoutingRuleForm) -> dict[str, Any]:
    fields = dict(form.cleaned_data)
    fields["territories"] = list(fields["territories"])
    fields["reps"] = list(fields["reps"])
    return fields


@role_required(REVOPS)
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id) if rule_id else None
    if request.method == "POST":
        form = RoutingRuleForm(request.POST)
        if form.is_valid():
            try:
                if rule is None:
                    rule = services.routing_rule_create(
                        actor=request.user, fields=_rule_fields(form)
                    )
                else:
                    rule = services.routing_rule_update(
                        rule_id=rule.pk, actor=request.user, fields=_rule_fields(form)
                    )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Saved routing rule “{rule.name}”.")
                return redirect("handoff:routing")
    else:
        form = RoutingRuleForm(initial=_rule_initial(rule) if rule else None)
    return render(request, "handoff/rule_form.html", {"form": form, "rule": rule, "nav": "routing"})


@require_POST
@role_required(REVOPS)
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        messages.error(request, f"{direction!r} is not a direction; use up or down.")
        return redirect("handoff:routing")
    try:
        services.routing_rule_move(rule_id=rule_id, direction=direction, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("handoff:routing")


@require_POST
@role_required(REVOPS)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        services.routing_rule_delete(rule_id=rule_id, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Routing rule deleted.")
    return redirect("handoff:routing")


@role_required(REVOPS, SALES_MANAGER)
def reps(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "handoff/reps.html",
        {"reps": selectors.reps_with_load(), "today": timezone.localdate(), "nav": "reps"},
    )


@role_required(REVOPS, SALES_MANAGER)
def rep_edit(request: HttpRequest, rep_id: int) -> HttpResponse:
    rep = get_object_or_404(selectors.reps_with_load(), pk=rep_id)
    if request.method == "POST":
        form = RepForm(request.POST)
        if form.is_valid():
            fields = dict(form.cleaned_data)
            fields["territories"] = list(fields["territories"])
            services.rep_update(rep_id=rep.pk, actor=request.user, fields=fields)
            messages.success(request, f"Saved {rep.display_name}.")
            return redirect("handoff:reps")
    else:
        form = RepForm(
            initial={
                "capacity": rep.capacity,
                "is_active": rep.is_active,
                "out_of_office_until": rep.out_of_office_until,
                "is_technical_expert": rep.is_technical_expert,
                "segments": rep.segments,
                "product_lines": rep.product_lines,
                "territories": list(rep.territories.all()),
                "home_territory": rep.home_territory,
            }
        )
    return render(request, "handoff/rep_form.html", {"form": form, "rep": rep, "nav": "reps"})


@role_required(REVOPS)
def handoff_settings(request: HttpRequest) -> HttpResponse:
    settings_row = services.handoff_settings_get()
    if request.method == "POST":
        form = HandoffSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.handoff_settings_update(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Saved handoff settings.")
                return HttpResponseRedirect(reverse("handoff:settings"))
    else:
        form = HandoffSettingsForm(
            initial={name: getattr(settings_row, name) for name in HandoffSettingsForm.base_fields}
        )
    return render(request, "handoff/settings.html", {"form": form, "nav": "routing"})
