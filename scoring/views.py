"""Pages of revenue operations: the rule-set versions, the draft editor, simulation and publish.

Editing uses htmx. Each card of the draft (general, ICP, thresholds, group
caps, fit rules, engagement rules) switches between showing and editing in
place. A save returns the card plus out-of-band updates of the draft's
revision, status bar and history. Without htmx the same forms post and
redirect, or re-render the page with the errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.errors import ApplicationError
from leadflow.roles import MARKETING, REVOPS, SALES_MANAGER, has_role
from scoring import rulesets, selectors, services, simulation
from scoring.errors import InvalidRuleSet
from scoring.forms import (
    ICP_LABELS,
    OP_LABELS,
    EngagementRuleForm,
    FitRuleForm,
    GeneralForm,
    GroupCapsForm,
    IcpForm,
    ImportForm,
    ThresholdsForm,
    format_rule_value,
)
from scoring.models import RescoreRun, RuleSet, Simulation
from scoring.rules import ICP_KEYS, document_from_ruleset

logger = logging.getLogger(__name__)

ACCOUNT_PAGE_ROLES = (MARKETING, REVOPS, SALES_MANAGER)
ACCOUNTS_PAGE_SIZE = 50
# Bytes of a rule-set file accepted by the import; real rule sets are a few kilobytes.
IMPORT_MAX_BYTES = 1_000_000

SECTIONS = ("general", "icp", "thresholds", "group-caps")
RULE_LISTS = {"fit": "fit_rules", "engagement": "engagement_rules"}


def revops_required(view: Any) -> Any:
    """Let only signed-in revops users through; others get 403."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_role(request.user, REVOPS):
            raise PermissionDenied("Rule sets are edited by revenue operations.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _is_htmx(request: HttpRequest) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _actor(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _ruleset_or_404(version: int) -> RuleSet:
    ruleset = RuleSet.objects.select_related(
        "created_by", "updated_by", "published_by", "based_on"
    ).filter(version=version)
    found = ruleset.first()
    if found is None:
        raise Http404(f"No rule set version {version}.")
    return found


# --- Versions --------------------------------------------------------------------------------


@revops_required
@require_GET
def ruleset_list(request: HttpRequest) -> HttpResponse:
    """List the versions with who changed what and when, the import form and the latest rescore."""
    return _render_list(request)


def _render_list(
    request: HttpRequest,
    *,
    import_form: ImportForm | None = None,
    import_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "nav": "scoring",
        "tab": "rulesets",
        "versions": selectors.ruleset_versions(),
        "history": selectors.ruleset_history(limit=25),
        "run": selectors.rescore_run_latest(),
        "import_form": import_form or ImportForm(),
        "import_errors": import_errors or {},
    }
    return render(request, "scoring/ruleset_list.html", context, status=status)


@revops_required
@require_POST
def ruleset_new(request: HttpRequest) -> HttpResponse:
    """Start a new draft as a copy of the published version."""
    draft = rulesets.ruleset_draft_create(actor=_actor(request))
    messages.success(request, f"Draft version {draft.version} created from the published rules.")
    return redirect("scoring:ruleset", version=draft.version)


@revops_required
@require_POST
def ruleset_import(request: HttpRequest) -> HttpResponse:
    """Store an uploaded rule-set JSON file as a new draft; show every error by path otherwise."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_list(request, import_form=form, status=400)

    upload = form.cleaned_data["file"]
    if upload.size > IMPORT_MAX_BYTES:
        form.add_error(
            "file",
            f"The file has {upload.size:,} bytes, more than the {IMPORT_MAX_BYTES:,} a rule set "
            "may have; check that it is a rule-set export.",
        )
        return _render_list(request, import_form=form, status=400)
    try:
        document = json.loads(upload.read().decode("utf-8"))
    except UnicodeDecodeError:
        form.add_error("file", f"{upload.name} is not UTF-8 text; save it as UTF-8 JSON.")
        return _render_list(request, import_form=form, status=400)
    except json.JSONDecodeError as error:
        form.add_error(
            "file",
            f"{upload.name} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}.",
        )
        return _render_list(request, import_form=form, status=400)

    try:
        draft = rulesets.ruleset_import(
            document=document, actor=_actor(request), source=upload.name
        )
    except InvalidRuleSet as error:
        form.add_error("file", f"{upload.name} is not a valid rule set; nothing was imported.")
        return _render_list(request, import_form=form, import_errors=error.errors, status=400)

    messages.success(request, f"Imported {upload.name} as draft version {draft.version}.")
    return redirect("scoring:ruleset", version=draft.version)


@revops_required
@require_GET
def ruleset_export(request: HttpRequest, version: int) -> HttpResponse:
    """Download a version as the JSON document that the import and load_ruleset read."""
    ruleset = _ruleset_or_404(version)
    text = json.dumps(document_from_ruleset(ruleset), indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ruleset-v{ruleset.version}.json"'
    return response


@revops_required
@require_POST
def ruleset_restore(request: HttpRequest, version: int) -> HttpResponse:
    """Copy an earlier version into a new draft; publishing it rolls the rules back."""
    source = _ruleset_or_404(version)
    draft = rulesets.ruleset_restore(version=source.version, actor=_actor(request))
    messages.success(
        request,
        f"Restored version {source.version} as draft version {draft.version}. "
        "Simulate it, then publish it to make it active.",
    )
    return redirect("scoring:ruleset", version=draft.version)


@revops_required
@require_POST
def ruleset_publish(request: HttpRequest, version: int) -> HttpResponse:
    """Make the version active and start the full rescore, whose progress the list page shows."""
    ruleset = _ruleset_or_404(version)
    try:
        run = services.ruleset_publish(ruleset_id=ruleset.pk, actor=_actor(request))
    except InvalidRuleSet as error:
        messages.error(request, f"Version {version} cannot be published: {error.message}")
        return redirect("scoring:ruleset", version=version)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("scoring:ruleset", version=version)

    messages.success(
        request,
        f"Published version {version}. Every lead is being rescored (run {run.pk}); leads "
        "whose status does not change trigger no handoff and no webhook.",
    )
    return redirect(f"{reverse('scoring:rulesets')}#rescore")


@revops_required
@require_GET
def rescore_run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """Render the progress bar of a rescore run; it polls itself while the run goes on."""
    run = RescoreRun.objects.select_related("ruleset").filter(pk=run_id).first()
    if run is None:
        raise Http404(f"No rescore run {run_id}.")
    return render(request, "scoring/_rescore_progress.html", {"run": run})


# --- One version and the draft editor --------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    index: int
    rule: dict[str, Any]
    editing: bool
    form: Any = None

    @property
    def condition(self) -> str:
        rule = self.rule
        op = OP_LABELS.get(rule.get("op", ""), rule.get("op", ""))
        value = format_rule_value(rule.get("value"))
        return f"{rule.get('field', '')} {op} {value}".strip()

    @property
    def kinds(self) -> list[str]:
        return list(self.rule.get("kinds") or [self.rule.get("kind", "")])


@revops_required
@require_GET
def ruleset_detail(request: HttpRequest, version: int) -> HttpResponse:
    """Show a version; a draft is shown as the editor, other versions read-only."""
    ruleset = _ruleset_or_404(version)
    return _render_detail(request, ruleset)


def _render_detail(
    request: HttpRequest,
    ruleset: RuleSet,
    *,
    editing: str = "",
    form: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = _detail_context(ruleset, editing=editing, form=form)
    return render(request, "scoring/ruleset_detail.html", context, status=status)


def _detail_context(ruleset: RuleSet, *, editing: str = "", form: Any = None) -> dict[str, Any]:
    """Build the context of the version page; `editing` names the card shown as a form.

    `editing` is a section name, or "fit:<rule id>" / "engagement:<rule id>"
    ("new" for a rule being added), and `form` its bound form with errors.
    """
    document = document_from_ruleset(ruleset)
    latest_simulation = selectors.simulation_latest(ruleset=ruleset)
    context: dict[str, Any] = {
        "nav": "scoring",
        "tab": "rulesets",
        "ruleset": ruleset,
        "document": document,
        "icp_rows": [
            (key, ICP_LABELS[key], (document["icp"] or {}).get(key) or []) for key in ICP_KEYS
        ],
        "groups": _groups(document),
        "history": selectors.ruleset_history(ruleset=ruleset, limit=50),
        "simulation": latest_simulation,
        "movers": selectors.simulation_movers(latest_simulation) if latest_simulation else [],
        "simulation_outdated": latest_simulation is not None
        and latest_simulation.ruleset_revision != ruleset.revision,
        "run": selectors.rescore_run_latest(ruleset=ruleset),
        "active": selectors.ruleset_active(),
        "editing": editing,
    }
    for section in SECTIONS:
        context[f"{section.replace('-', '_')}_form"] = (
            form if editing == section and form is not None else _section_form(section, document)
        )
    for kind, list_name in RULE_LISTS.items():
        context[f"{kind}_rows"] = _rule_rows(kind, document[list_name], editing, form)
    return context


def _groups(document: dict[str, Any]) -> list[str]:
    groups = [
        rule.get("group")
        for list_name in RULE_LISTS.values()
        for rule in document[list_name]
        if rule.get("group")
    ]
    return list(dict.fromkeys(groups))


def _section_form(section: str, document: dict[str, Any], data: Any = None) -> Any:
    if section == "general":
        form: Any = GeneralForm(data) if data is not None else GeneralForm.from_document(document)
    elif section == "icp":
        form = IcpForm(data) if data is not None else IcpForm.from_document(document)
    elif section == "thresholds":
        form = ThresholdsForm(data) if data is not None else ThresholdsForm.from_document(document)
    elif section == "group-caps":
        groups = _groups(document)
        form = (
            GroupCapsForm(data, groups=groups)
            if data is not None
            else GroupCapsForm.from_document(document, groups)
        )
    else:
        raise Http404(f"No section {section!r}; the sections are {', '.join(SECTIONS)}.")
    return form


def _rule_rows(kind: str, rules: list[dict[str, Any]], editing: str, form: Any) -> list[RuleRow]:
    form_class = FitRuleForm if kind == "fit" else EngagementRuleForm
    rows = []
    for index, rule in enumerate(rules):
        is_editing = editing == f"{kind}:{rule.get('id')}"
        row_form = (form or form_class.from_rule(rule)) if is_editing else None
        rows.append(RuleRow(index=index, rule=rule, editing=is_editing, form=row_form))
    if editing == f"{kind}:new":
        new_form = form or form_class(initial={"op": "eq", "points": "10"})
        rows.append(RuleRow(index=len(rules), rule={"id": "new"}, editing=True, form=new_form))
    return rows


def _draft_or_conflict(request: HttpRequest, version: int) -> RuleSet:
    ruleset = _ruleset_or_404(version)
    if not ruleset.is_draft:
        raise PermissionDenied(
            f"Version {version} is {ruleset.status}; restore it as a new draft to edit it."
        )
    return ruleset


def _posted_revision(request: HttpRequest) -> int | None:
    # The page keeps one revision field that every save refreshes; a form's own copy is the
    # fallback without htmx.
    value = request.POST.get("revision") or request.POST.get("form_revision")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _card_response(
    request: HttpRequest, ruleset: RuleSet, card: str, *, editing: str = "", form: Any = None
) -> HttpResponse:
    """Render one card of the editor; after a save, with the out-of-band page updates."""
    context = _detail_context(ruleset, editing=editing, form=form)
    context["card"] = card
    context["out_of_band"] = not editing
    response = render(request, "scoring/_card.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _save(
    request: HttpRequest,
    ruleset: RuleSet,
    card: str,
    changes: dict[str, Any],
    *,
    editing: str,
    form: Any,
) -> HttpResponse:
    """Apply changes to the draft; return the saved card, or the form with its errors."""
    try:
        updated = rulesets.ruleset_draft_update(
            version=ruleset.version,
            changes=changes,
            actor=_actor(request),
            expected_revision=_posted_revision(request),
        )
    except InvalidRuleSet as error:
        form.add_document_errors(error.errors)
        return _form_errors(request, ruleset, card, editing=editing, form=form)
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _form_errors(request, ruleset, card, editing=editing, form=form, status=409)

    if not _is_htmx(request):
        messages.success(request, f"Saved draft version {updated.version}.")
        return HttpResponseRedirect(f"{reverse('scoring:ruleset', args=[updated.version])}#{card}")
    return _card_response(request, updated, card)


def _form_errors(
    request: HttpRequest,
    ruleset: RuleSet,
    card: str,
    *,
    editing: str,
    form: Any,
    status: int = 400,
) -> HttpResponse:
    if _is_htmx(request):
        # htmx swaps only successful responses, so the form with its errors comes back as 200.
        return _card_response(request, ruleset, card, editing=editing, form=form)
    return _render_detail(request, ruleset, editing=editing, form=form, status=status)


@revops_required
@require_http_methods(["GET", "POST"])
def ruleset_section(request: HttpRequest, version: int, section: str) -> HttpResponse:
    """GET shows a card of the draft (as a form with ?edit=1); POST saves it."""
    ruleset = _ruleset_or_404(version)
    if section not in SECTIONS:
        raise Http404(f"No section {section!r}; the sections are {', '.join(SECTIONS)}.")
    if request.method == "GET":
        editing = section if request.GET.get("edit") and ruleset.is_draft else ""
        if not _is_htmx(request):
            return _render_detail(request, ruleset, editing=editing)
        return _card_response(request, ruleset, section, editing=editing)

    ruleset = _draft_or_conflict(request, version)
    document = document_from_ruleset(ruleset)
    form = _section_form(section, document, data=request.POST)
    if not form.is_valid():
        return _form_errors(request, ruleset, section, editing=section, form=form)
    return _save(request, ruleset, section, form.to_changes(), editing=section, form=form)


@revops_required
@require_http_methods(["GET", "POST"])
def ruleset_rule(request: HttpRequest, version: int, kind: str, rule_id: str) -> HttpResponse:
    """GET shows the rules card with one rule as a form ("new" adds one); POST saves the rule."""
    if kind not in RULE_LISTS:
        raise Http404(f"No rule list {kind!r}; use fit or engagement.")
    ruleset = _ruleset_or_404(version)
    card = f"{kind}-rules"
    list_name = RULE_LISTS[kind]
    document = document_from_ruleset(ruleset)
    rules = list(document[list_name])
    index = next((i for i, rule in enumerate(rules) if rule.get("id") == rule_id), None)
    if rule_id != "new" and index is None:
        raise Http404(f"Version {version} has no {kind} rule {rule_id!r}.")

    if request.method == "GET":
        editing = f"{kind}:{rule_id}" if request.GET.get("edit") and ruleset.is_draft else ""
        if not _is_htmx(request):
            return _render_detail(request, ruleset, editing=editing)
        return _card_response(request, ruleset, card, editing=editing)

    ruleset = _draft_or_conflict(request, version)
    form: Any = (FitRuleForm if kind == "fit" else EngagementRuleForm)(request.POST)
    editing = f"{kind}:{rule_id}"
    if not form.is_valid():
        return _form_errors(request, ruleset, card, editing=editing, form=form)
    if index is None:
        rules.append(form.to_rule())
    else:
        rules[index] = form.to_rule()
    return _save(request, ruleset, card, {list_name: rules}, editing=editing, form=form)


@revops_required
@require_POST
def ruleset_rule_delete(
    request: HttpRequest, version: int, kind: str, rule_id: str
) -> HttpResponse:
    """Remove a rule, and the cap of its group when no rule is left in the group."""
    if kind not in RULE_LISTS:
        raise Http404(f"No rule list {kind!r}; use fit or engagement.")
    ruleset = _draft_or_conflict(request, version)
    list_name = RULE_LISTS[kind]
    document = document_from_ruleset(ruleset)
    rules = [rule for rule in document[list_name] if rule.get("id") != rule_id]
    if len(rules) == len(document[list_name]):
        raise Http404(f"Version {version} has no {kind} rule {rule_id!r}.")
    changes = rulesets.without_unused_group_caps({**document, list_name: rules})
    form = (FitRuleForm if kind == "fit" else EngagementRuleForm)()
    return _save(
        request,
        ruleset,
        f"{kind}-rules",
        {list_name: rules, "group_caps": changes["group_caps"]},
        editing="",
        form=form,
    )


# --- Simulation ------------------------------------------------------------------------------


@revops_required
@require_POST
def ruleset_simulate(request: HttpRequest, version: int) -> HttpResponse:
    """Simulate the version against every lead; small sets finish now, large ones in a task."""
    ruleset = _ruleset_or_404(version)
    try:
        run = simulation.simulation_start(version=ruleset.version, actor=_actor(request))
    except InvalidRuleSet as error:
        messages.error(request, f"Version {version} cannot be simulated: {error.message}")
        return redirect("scoring:ruleset", version=version)
    if _is_htmx(request):
        return _simulation_response(request, run)
    return redirect(f"{reverse('scoring:ruleset', args=[version])}#simulation")


@revops_required
@require_GET
def simulation_panel(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """Render a simulation's panel; it polls itself until the simulation is finished."""
    found = (
        Simulation.objects.select_related("ruleset", "requested_by")
        .filter(pk=simulation_id)
        .first()
    )
    if found is None:
        raise Http404(f"No simulation {simulation_id}.")
    return _simulation_response(request, found)


def _simulation_response(request: HttpRequest, found: Simulation) -> HttpResponse:
    found.ruleset = RuleSet.objects.select_related("updated_by").get(pk=found.ruleset_id)
    context = {
        "simulation": found,
        "ruleset": found.ruleset,
        "simulation_outdated": found.ruleset_revision != found.ruleset.revision,
        "movers": selectors.simulation_movers(found),
        # The draft bar names the simulation's state, so it follows the panel.
        "refresh_bar": True,
    }
    return render(request, "scoring/_simulation.html", context)


# --- Accounts --------------------------------------------------------------------------------


def _account_roles_required(request: HttpRequest) -> None:
    if not has_role(request.user, *ACCOUNT_PAGE_ROLES):
        raise PermissionDenied("Account roll-ups are for marketing, revops and sales managers.")


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    """List accounts by their engagement roll-up, with the number of engaged contacts."""
    _account_roles_required(request)
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.accounts_by_engagement(search=search), ACCOUNTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "scoring/account_list.html",
        {
            "nav": "scoring" if has_role(request.user, REVOPS) else "",
            "tab": "accounts",
            "page": page,
            "search": search,
        },
    )


@login_required
@require_GET
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """Show an account's roll-up and the scores of its leads that the user may see."""
    _account_roles_required(request)
    account = selectors.account_with_rollup(account_id=account_id)
    if account is None:
        raise Http404(f"No account {account_id}.")
    return render(
        request,
        "scoring/account_detail.html",
        {
            "nav": "scoring" if has_role(request.user, REVOPS) else "",
            "tab": "accounts",
            "account": account,
            "leads": selectors.account_leads(account=account, user=request.user),
        },
    )
