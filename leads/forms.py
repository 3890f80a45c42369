"""Forms of the lead pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms

from leads.inputs import LEAD_TEXT_FIELDS, MAX_INTEREST_LENGTH, MAX_INTERESTS
from leads.labels import code_label
from leads.models import Lead, LeadStatus

# The moves marketing makes from the lead page. Promotion to MQL is scoring's job and
# moves to SQL, won or lost belong to the handoff pages.
PAGE_TRANSITIONS = (LeadStatus.NURTURE, LeadStatus.DISQUALIFIED)
PAGE_TRANSITION_LABELS = {
    LeadStatus.NURTURE: "Move to nurture",
    LeadStatus.DISQUALIFIED: "Disqualify",
}
REASON_MAX_LENGTH = 1000


class LeadTransitionForm(forms.Form):
    """Move a lead to nurture or disqualify it, with the reason recorded in its audit trail."""

    to_status = forms.ChoiceField(
        choices=[(status.value, status.label) for status in PAGE_TRANSITIONS],
        error_messages={
            "required": "Choose where the lead goes: nurture or disqualified.",
            "invalid_choice": (
                "This page moves leads only to nurture or disqualified, not to %(value)s."
            ),
        },
    )
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "Why: no active project, student, competitor, wrong contact …",
            }
        ),
        error_messages={
            "required": "Enter a reason; sales and marketing read it in the lead's timeline.",
            "max_length": "Shorten the reason to %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    # The status the page showed. A lead that moved meanwhile is not moved again blindly.
    expected_from = forms.ChoiceField(
        choices=LeadStatus.choices,
        widget=forms.HiddenInput,
        error_messages={
            "required": "The form lacks the lead's current status; reload the page and try again.",
            "invalid_choice": "Unknown current status %(value)s; reload the page and try again.",
        },
    )


# Job functions and seniorities that leads.normalize derives from job titles, in menu order.
JOB_FUNCTIONS = (
    "engineering",
    "operations",
    "quality",
    "procurement",
    "it",
    "executive",
    "finance",
    "sales",
    "marketing",
    "hr",
    "student",
    "other",
)
SENIORITIES = ("c_level", "vp", "director", "manager", "individual", "student")
# Empty inputs the edit page adds after the lead's interests, for new ones.
EMPTY_INTEREST_INPUTS = 3
# The text fields of the edit page, in page order; each keeps the API's maximum length.
EDIT_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "phone",
    "company_name",
    "country",
    "city",
)
_NON_CODE_CHARACTERS = re.compile(r"[^a-z0-9]+")


def interest_code(text: str) -> str:
    """Turn a typed product category such as "Servo drives" into its code, "servo_drives".

    Routing rules match the codes that the API and imports send, so a typed name must become one.
    """
    return _NON_CODE_CHARACTERS.sub("_", text.strip().lower()).strip("_")


class InterestListWidget(forms.Widget):
    """Several text inputs of the same name; the page template renders them."""

    def value_from_datadict(
        self, data: Mapping[str, Any], files: Mapping[str, Any], name: str
    ) -> list[str]:
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            return [str(value) for value in getlist(name)]
        value = data.get(name)
        return [str(item) for item in value] if isinstance(value, list) else []

    def value_omitted_from_data(
        self, data: Mapping[str, Any], files: Mapping[str, Any], name: str
    ) -> bool:
        return False


class InterestListField(forms.Field):
    """Product categories typed one per input, cleaned to distinct codes in the order given."""

    widget = InterestListWidget

    def to_python(self, value: Any) -> list[str]:
        codes: list[str] = []
        for text in value or []:
            if len(text) > MAX_INTEREST_LENGTH:
                raise forms.ValidationError(
                    f"“{text[:40]}…” has {len(text):,} characters, more than the maximum of "
                    f"{MAX_INTEREST_LENGTH}; shorten it.",
                    code="max_length",
                )
            code = interest_code(text)
            if text.strip() and not code:
                raise forms.ValidationError(
                    f"“{text}” has no letters or digits; name a product category, such as "
                    "servo drives.",
                    code="invalid",
                )
            if code and code not in codes:
                codes.append(code)
        if len(codes) > MAX_INTERESTS:
            raise forms.ValidationError(
                f"{len(codes)} product categories is more than the maximum of {MAX_INTERESTS}; "
                "keep the ones the lead asked about.",
                code="max_items",
            )
        return codes


def _choices_with(values: tuple[str, ...], current: str, blank: str) -> list[tuple[str, str]]:
    choices = [("", blank)] + [(value, code_label(value)) for value in values]
    if current and current not in values:
        # A value another system sent stays selectable, so saving the page keeps it.
        choices.append((current, code_label(current)))
    return choices


class LeadEditForm(forms.Form):
    """The lead fields marketing and revenue operations edit on the lead page.

    Blank job function and seniority are derived from the job title again, and the
    region from a changed country, by leads.services.lead_update.
    """

    first_name = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["first_name"])
    last_name = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["last_name"])
    job_title = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["job_title"])
    job_function = forms.ChoiceField(required=False)
    seniority = forms.ChoiceField(required=False)
    phone = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["phone"])
    company_name = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["company_name"])
    country = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["country"])
    city = forms.CharField(required=False, max_length=LEAD_TEXT_FIELDS["city"])
    interests = InterestListField(
        required=False,
        help_text=(
            f"Product categories the lead asked about, at most {MAX_INTERESTS}. Pick a "
            "suggestion or type a name; it is stored as a code, such as servo_drives."
        ),
    )
    marketing_notes = forms.CharField(
        required=False,
        max_length=LEAD_TEXT_FIELDS["marketing_notes"],
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What sales should know; the handoff to a rep includes these notes.",
    )
    email_opt_out = forms.BooleanField(required=False, label="Opted out of e-mail")
    call_opt_out = forms.BooleanField(required=False, label="Opted out of calls")

    def __init__(self, *args: Any, lead: Lead, **kwargs: Any) -> None:
        kwargs.setdefault("initial", lead_edit_values(lead))
        super().__init__(*args, **kwargs)
        self.lead = lead
        job_function = self.fields["job_function"]
        seniority = self.fields["seniority"]
        assert isinstance(job_function, forms.ChoiceField)
        assert isinstance(seniority, forms.ChoiceField)
        job_function.choices = _choices_with(
            JOB_FUNCTIONS, lead.job_function, "Derive from the job title"
        )
        seniority.choices = _choices_with(SENIORITIES, lead.seniority, "Derive from the job title")

    def interest_values(self) -> list[str]:
        """Return the values of the interest inputs: those sent or stored, then empty ones."""
        if self.is_bound:
            values = [value for value in self["interests"].value() or [] if value.strip()]
        else:
            values = list(self.initial.get("interests") or [])
        return values + [""] * EMPTY_INTEREST_INPUTS

    def changes(self) -> dict[str, Any]:
        """Return the cleaned fields whose values differ from the lead's, for lead_update."""
        current = lead_edit_values(self.lead)
        changes = {}
        for name, value in self.cleaned_data.items():
            if name == "interests":
                # The lead stores its interests sorted, so only the set of codes matters.
                changed = sorted(set(value)) != sorted(set(current[name]))
            else:
                changed = value != current[name]
            if changed:
                changes[name] = value
        return changes


def lead_edit_values(lead: Lead) -> dict[str, Any]:
    """Return the lead's values of the edit page's fields."""
    values: dict[str, Any] = {name: getattr(lead, name) for name in EDIT_TEXT_FIELDS}
    values.update(
        job_function=lead.job_function,
        seniority=lead.seniority,
        interests=list(lead.interests or []),
        marketing_notes=lead.marketing_notes,
        email_opt_out=lead.email_opt_out,
        call_opt_out=lead.call_opt_out,
    )
    return values
