"""Forms of the lead pages."""

from __future__ import annotations

from django import forms

from leads.models import LeadStatus

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
