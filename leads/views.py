"""Pages of the leads app: the MQL queue and the lead detail page with its lifecycle actions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.roles import MARKETING, REVOPS, has_role
from leads import page_selectors
from leads.errors import IllegalTransition, LeadNotFound
from leads.forms import (
    PAGE_TRANSITION_LABELS,
    PAGE_TRANSITIONS,
    LeadEditForm,
    LeadTransitionForm,
)
from leads.inputs import InputError, parse_lead_changes
from leads.labels import code_label
from leads.lifecycle import allowed_next_statuses
from leads.models import Lead, LeadStatus
from leads.page_filters import SORT_KEYS, MQLQueueFilter
from leads.page_selectors import SCORE_BANDS, ScoreBand, ScoreReason
from leads.queue_pagination import (
    Cursor,
    InvalidCursor,
    KeysetOrder,
    count_leads,
    decode_cursor,
    keyset_page,
)
from leads.services import lead_transition, lead_transition_guard_error, lead_update

logger = logging.getLogger(__name__)

QUEUE_ROLES = (MARKETING, REVOPS)
# Roles that may move a lead to nurture or disqualify it from the lead page.
TRANSITION_ROLES = (MARKETING, REVOPS)
# Roles that may edit a lead's fields on its edit page, as the API lets them.
EDIT_ROLES = (MARKETING, REVOPS)
# The session entry of a note for the rep that a failed send to sales left unsent:
# {"lead_ids": [...], "note": "..."}. handoff.views writes it; the lead page fills it in again.
UNSENT_NOTE_SESSION_KEY = "leads.unsent_handoff_note"
QUEUE_PAGE_SIZE = 25
QUEUE_SORT_COLUMNS = ("fit", "engagement", "mql_since")
PAGE_CURSOR_PARAMETERS = ("after", "before")


def _is_htmx_partial(request: HttpRequest) -> bool:
    """Tell whether htmx asked for a fragment; a history restore needs the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


# --- MQL queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    lead: Lead
    band: ScoreBand
    reasons: list[ScoreReason]


@dataclass(frozen=True)
class SortColumn:
    """A sortable column heading: its current direction and the sort a click requests."""

    key: str
    direction: str  # "asc", "desc" or ""
    next_sort: str

    @property
    def aria_sort(self) -> str:
        return {"asc": "ascending", "desc": "descending"}.get(self.direction, "none")


def _sort_columns(current_sort: str) -> dict[str, SortColumn]:
    columns = {}
    for key in QUEUE_SORT_COLUMNS:
        if current_sort == f"-{key}":
            columns[key] = SortColumn(key=key, direction="desc", next_sort=key)
        elif current_sort == key:
            columns[key] = SortColumn(key=key, direction="asc", next_sort=f"-{key}")
        else:
            # Highest scores and newest MQLs first is what a reviewer wants on the first click.
            columns[key] = SortColumn(key=key, direction="", next_sort=f"-{key}")
    return columns


def _queue_query(request: HttpRequest) -> QueryDict:
    """Rebuild the queue's filters and sort without empty values, for links and the address bar.

    The page cursor is left out; the template adds the cursor of each page link.
    """
    query = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        non_empty_values = [value for value in values if value.strip()]
        if non_empty_values and key not in PAGE_CURSOR_PARAMETERS:
            query.setlist(key, non_empty_values)
    return query


def _queue_cursor(request: HttpRequest, order: KeysetOrder) -> tuple[Cursor | None, str]:
    """Read the page cursor from `after` or `before`; return it and the problem, if any."""
    for name in PAGE_CURSOR_PARAMETERS:
        text = request.GET.get(name, "").strip()
        if not text:
            continue
        try:
            cursor = decode_cursor(text, order)
        except InvalidCursor:
            return None, "The page link is invalid or out of date; showing the first page."
        if cursor.before != (name == "before"):
            return None, "The page link is invalid or out of date; showing the first page."
        return cursor, ""
    return None, ""


@login_required
@require_GET
def mql_queue(request: HttpRequest) -> HttpResponse:
    """List the MQL leads with filters, sort and pagination; htmx requests get the table only.

    Pages are keyset pages: the `after` and `before` parameters carry a cursor, so a deep
    page is as fast as the first. The count is exact up to 10,000 leads and estimated above.
    """
    if not has_role(request.user, *QUEUE_ROLES):
        raise PermissionDenied("The MQL queue is for marketing and revenue operations.")

    filterset = MQLQueueFilter(
        request.GET,
        queryset=page_selectors.queue_leads(),
        options=page_selectors.queue_filter_options(),
    )
    order = SORT_KEYS[filterset.sort_value]
    cursor, cursor_error = _queue_cursor(request, order)
    leads = filterset.qs
    page = keyset_page(leads, order, cursor, QUEUE_PAGE_SIZE)
    count = count_leads(leads, page)
    rows = [
        QueueRow(
            lead=lead,
            band=page_selectors.score_band(lead.fit_score, lead.engagement_score),
            reasons=page_selectors.top_reasons(lead.score_breakdown),
        )
        for lead in page.leads
    ]
    query = _queue_query(request)
    # The address bar keeps the page; links to other sorts and filters start at the first.
    address_query = query.copy()
    if cursor is not None:
        name = "before" if cursor.before else "after"
        address_query[name] = request.GET[name].strip()

    partial = _is_htmx_partial(request)
    context: dict[str, Any] = {
        "nav": "queue",
        "filterset": filterset,
        "page": page,
        "count": count,
        "cursor_error": cursor_error,
        "rows": rows,
        "query": query,
        "sort": filterset.sort_value,
        "sort_columns": _sort_columns(filterset.sort_value),
        "score_bands": SCORE_BANDS,
        "partial": partial,
        "can_send": has_role(request.user, *TRANSITION_ROLES),
    }
    response = render(
        request, "leads/_queue_results.html" if partial else "leads/queue.html", context
    )
    # The same URL returns a fragment or a whole page, so caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    if partial:
        url = reverse("leads:queue")
        response["HX-Push-Url"] = f"{url}?{address_query.urlencode()}" if address_query else url
    return response


# --- Lead detail -----------------------------------------------------------------------------


def _visible_lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    lead = page_selectors.lead_for_page(user=request.user, lead_id=lead_id)
    if lead is None:
        raise Http404(f"No lead {lead_id} that you may open.")
    return lead


def _timeline_limit(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("timeline", page_selectors.TIMELINE_PAGE_SIZE))
    except ValueError:
        return page_selectors.TIMELINE_PAGE_SIZE


@dataclass(frozen=True)
class BlockedMove:
    """A move a transition guard rejects: the guard's message and the handoff it names."""

    message: str
    handoff_id: int | None


def _page_transitions(lead: Lead) -> tuple[list[tuple[str, str]], list[BlockedMove]]:
    """Return the page's moves that the lifecycle and the guards allow, and the blocked ones."""
    allowed = allowed_next_statuses(lead.status)
    actions: list[tuple[str, str]] = []
    blocked: list[BlockedMove] = []
    for status in PAGE_TRANSITIONS:
        if status not in allowed:
            continue
        error = lead_transition_guard_error(lead=lead, to_status=status)
        if error is None:
            actions.append((status.value, PAGE_TRANSITION_LABELS[status]))
            continue
        blocked_move = BlockedMove(message=error.message, handoff_id=error.extra.get("handoff_id"))
        if blocked_move not in blocked:
            blocked.append(blocked_move)
    return actions, blocked


def _render_detail(
    request: HttpRequest,
    lead: Lead,
    *,
    form: LeadTransitionForm | None = None,
    transition_error: str = "",
    status: int = 200,
) -> HttpResponse:
    breakdown = page_selectors.score_breakdown_for_page(lead)
    can_transition = has_role(request.user, *TRANSITION_ROLES)
    actions, blocked = _page_transitions(lead) if can_transition else ([], [])
    context = {
        "nav": "queue" if lead.status == LeadStatus.MQL else "",
        "lead": lead,
        "band": page_selectors.score_band(lead.fit_score, lead.engagement_score),
        "breakdown": breakdown,
        "rules_by_event": breakdown.rules_by_event(),
        "timeline": page_selectors.lead_timeline(lead=lead, limit=_timeline_limit(request)),
        "timeline_step": page_selectors.TIMELINE_PAGE_SIZE,
        "can_transition": can_transition,
        "can_send": can_transition,
        "transition_actions": actions,
        "blocked_moves": blocked,
        "form": form or LeadTransitionForm(initial={"expected_from": lead.status}),
        "transition_error": transition_error,
        "can_see_queue": has_role(request.user, *QUEUE_ROLES),
        "can_edit": has_role(request.user, *EDIT_ROLES),
        "unsent_note": _pop_unsent_note(request, lead),
    }
    return render(request, "leads/detail.html", context, status=status)


def _pop_unsent_note(request: HttpRequest, lead: Lead) -> str:
    """Take the note of a failed send of this lead alone out of the session, once."""
    unsent = request.session.get(UNSENT_NOTE_SESSION_KEY)
    if not isinstance(unsent, dict) or unsent.get("lead_ids") != [lead.pk]:
        return ""
    del request.session[UNSENT_NOTE_SESSION_KEY]
    return str(unsent.get("note") or "")


@login_required
@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Show a lead: fields, account, score breakdown, timeline and the lifecycle actions."""
    lead = _visible_lead_or_404(request, lead_id)
    return _render_detail(request, lead)


@login_required
@require_GET
def lead_timeline(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Render the timeline fragment alone, for the "show more" link."""
    lead = _visible_lead_or_404(request, lead_id)
    breakdown = page_selectors.score_breakdown_for_page(lead)
    context = {
        "lead": lead,
        "timeline": page_selectors.lead_timeline(lead=lead, limit=_timeline_limit(request)),
        "timeline_step": page_selectors.TIMELINE_PAGE_SIZE,
        "rules_by_event": breakdown.rules_by_event(),
    }
    return render(request, "leads/_timeline.html", context)


@login_required
@require_POST
def lead_transition_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Move the lead to nurture or disqualify it. A rejected move changes nothing and shows why."""
    lead = _visible_lead_or_404(request, lead_id)
    if not has_role(request.user, *TRANSITION_ROLES):
        raise PermissionDenied("Only marketing and revenue operations move leads from this page.")

    form = LeadTransitionForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, lead, form=form, status=400)

    from_label = lead.get_status_display()
    to_status = form.cleaned_data["to_status"]
    try:
        lead_transition(
            lead_id=lead.pk,
            to_status=to_status,
            actor=request.user if request.user.is_authenticated else None,
            reason=form.cleaned_data["reason"],
            expected_from=form.cleaned_data["expected_from"],
        )
    except LeadNotFound as error:
        raise Http404(error.message) from error
    except IllegalTransition as error:
        logger.info(
            "Page transition of lead %s to %s rejected: %s",
            lead.pk,
            to_status,
            error.code,
            extra={"lead_id": lead.pk, "actor_id": request.user.pk},
        )
        # A fresh form carries the status the lead has now, so a second try is deliberate.
        fresh_form = LeadTransitionForm(
            initial={"expected_from": lead.status, "reason": form.cleaned_data["reason"]}
        )
        return _render_detail(
            request, lead, form=fresh_form, transition_error=error.message, status=409
        )

    messages.success(
        request,
        f"{lead.display_name} moved from {from_label} to {LeadStatus(to_status).label}.",
    )
    return redirect("leads:detail", lead_id=lead.pk)


# --- Lead edit ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Edit a lead's contact fields, interests, notes and consent; invalid input shows per field."""
    lead = _visible_lead_or_404(request, lead_id)
    if not has_role(request.user, *EDIT_ROLES):
        raise PermissionDenied("Only marketing and revenue operations edit leads.")

    if request.method != "POST":
        return _render_edit(request, lead, LeadEditForm(lead=lead))

    form = LeadEditForm(request.POST, lead=lead)
    if not form.is_valid():
        logger.info(
            "Edit of lead %s rejected: invalid %s",
            lead.pk,
            ", ".join(sorted(form.errors)),
            extra={"lead_id": lead.pk, "actor_id": request.user.pk},
        )
        return _render_edit(request, lead, form, status=400)
    changes = form.changes()
    if not changes:
        messages.info(request, f"Nothing changed on {lead.display_name}.")
        return redirect("leads:detail", lead_id=lead.pk)
    try:
        # The API's validation, so both paths store the same values and limits.
        fields = parse_lead_changes(changes)
    except InputError as error:
        for name, field_messages in error.errors.items():
            for message in field_messages:
                form.add_error(name if name in form.fields else None, message)
        return _render_edit(request, lead, form, status=400)

    try:
        updated = lead_update(
            lead_id=lead.pk,
            fields=fields,
            actor=request.user if request.user.is_authenticated else None,
        )
    except LeadNotFound as error:
        raise Http404(error.message) from error

    labels = ", ".join(str(form[name].label).lower() for name in changes)
    logger.info(
        "Lead %s edited on its page: %s",
        lead.pk,
        ", ".join(sorted(changes)),
        extra={"lead_id": lead.pk, "actor_id": request.user.pk},
    )
    messages.success(request, f"Saved {updated.display_name}: {labels}.")
    return redirect("leads:detail", lead_id=lead.pk)


def _render_edit(
    request: HttpRequest, lead: Lead, form: LeadEditForm, status: int = 200
) -> HttpResponse:
    context = {
        "lead": lead,
        "form": form,
        "interest_values": form.interest_values(),
        "interest_suggestions": [
            (code, code_label(code)) for code in page_selectors.interest_suggestions()
        ],
    }
    return render(request, "leads/edit.html", context, status=status)
