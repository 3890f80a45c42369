"""Forms of the handoff pages. They parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from handoff.models import (
    MAX_NEXT_STEP_LENGTH,
    MAX_QUALIFICATION_LENGTH,
    MAX_REP_CAPACITY,
    MAX_RULE_POSITION,
    ContextField,
    Outcome,
    OutcomeReason,
    QualificationField,
    RejectReason,
    Rep,
    RoutingStrategy,
    Territory,
)
from handoff.serializers import MAX_SEND_LEADS
from handoff.services import next_step_latest_date
from leads.models import EventKind


class CommaListField(forms.CharField):
    """A list of short codes typed as comma-separated text, such as "europe, north_america"."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [item.strip() for item in text.split(",") if item.strip()]


class SendToSalesForm(forms.Form):
    marketing_notes = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, lead_ids: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.raw_lead_ids = lead_ids or []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ids: list[int] = []
        for raw in self.raw_lead_ids:
            for part in str(raw).split(","):
                part = part.strip()
                if not part:
                    continue
                if not part.isdigit():
                    raise forms.ValidationError(
                        f"{part!r} is not a lead id; select leads from the queue."
                    )
                ids.append(int(part))
        if not ids:
            raise forms.ValidationError("Select at least one lead to send to sales.")
        if len(ids) > MAX_SEND_LEADS:
            raise forms.ValidationError(
                f"{len(ids)} leads selected; send at most {MAX_SEND_LEADS} at once."
            )
        cleaned["lead_ids"] = ids
        return cleaned


QUALIFICATION_TEXT_FIELDS = [
    QualificationField.CONFIRMED_NEED,
    QualificationField.PROCESS_FIT,
    QualificationField.TECHNICAL_REQUIREMENTS,
    QualificationField.ACCEPTANCE_CRITERIA,
    QualificationField.INTEGRATION_CONSTRAINTS,
]


class AcceptForm(forms.Form):
    """The qualification a rep records to accept; which fields are required is configured by admins.

    The service checks the lengths and the next-step date, so the page shows its messages;
    the form only passes the limits to the browser.
    """

    confirmed_need = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    process_fit = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_step = forms.CharField(required=False)
    next_step_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    technical_requirements = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    acceptance_criteria = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    integration_constraints = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, required_fields: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.required_fields = set(required_fields or [])
        today = timezone.localdate()
        self.fields["next_step_date"].widget.attrs.update(
            min=today.isoformat(), max=next_step_latest_date(today).isoformat()
        )
        for name, field in self.fields.items():
            field.label = QualificationField(name).label
            if name == QualificationField.NEXT_STEP:
                field.widget.attrs["maxlength"] = str(MAX_NEXT_STEP_LENGTH)
            elif name != QualificationField.NEXT_STEP_DATE:
                field.widget.attrs["maxlength"] = str(MAX_QUALIFICATION_LENGTH)
            if name in self.required_fields:
                field.widget.attrs["required"] = "required"
                field.widget.attrs["aria-required"] = "true"
                field.label = f"{field.label} *"

    def qualification(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in QUALIFICATION_TEXT_FIELDS}


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "Choose a reason…"), *RejectReason.choices])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        choices=[
            ("", "Choose a reason…"),
            (
                "Won",
                [
                    (OutcomeReason.PRODUCT_FIT.value, OutcomeReason.PRODUCT_FIT.label),
                    (OutcomeReason.PRICE.value, OutcomeReason.PRICE.label),
                    (OutcomeReason.RELATIONSHIP.value, OutcomeReason.RELATIONSHIP.label),
                    (
                        OutcomeReason.SERVICE_AND_SUPPORT.value,
                        OutcomeReason.SERVICE_AND_SUPPORT.label,
                    ),
                ],
            ),
            (
                "Lost",
                [
                    (
                        OutcomeReason.LOST_TO_COMPETITOR.value,
                        OutcomeReason.LOST_TO_COMPETITOR.label,
                    ),
                    (OutcomeReason.NO_BUDGET.value, OutcomeReason.NO_BUDGET.label),
                    (OutcomeReason.NO_DECISION.value, OutcomeReason.NO_DECISION.label),
                    (OutcomeReason.PRODUCT_GAP.value, OutcomeReason.PRODUCT_GAP.label),
                    (OutcomeReason.TOO_EXPENSIVE.value, OutcomeReason.TOO_EXPENSIVE.label),
                    (OutcomeReason.TIMING.value, OutcomeReason.TIMING.label),
                ],
            ),
            (OutcomeReason.OTHER.value, OutcomeReason.OTHER.label),
        ]
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RepChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        open_count = getattr(obj, "open_count", None)
        load = f" ({open_count} of {obj.capacity} open)" if open_count is not None else ""
        return f"{obj.display_name}{load}"


class ReassignForm(forms.Form):
    to_rep = RepChoiceField(
        queryset=Rep.objects.none(),
        required=False,
        empty_label="Route again (next eligible rep)",
        label="Reassign to",
    )
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, reps: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if reps is not None:
            self.fields["to_rep"].queryset = reps  # type: ignore[attr-defined]


class DryRunForm(forms.Form):
    lead_id = forms.IntegerField(min_value=1, label="Lead id")


class RoutingRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    position = forms.IntegerField(
        min_value=0,
        max_value=MAX_RULE_POSITION,
        required=False,
        help_text="Lower positions are tried first; empty puts the rule last.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    regions = CommaListField(
        required=False, help_text="Lead regions, comma-separated; empty for any."
    )
    segments = CommaListField(
        required=False, help_text="Account segments, comma-separated; empty for any."
    )
    product_interests = CommaListField(
        required=False, help_text="Product interests, comma-separated; empty for any."
    )
    territories = forms.ModelMultipleChoiceField(
        queryset=Territory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Every rep of these territories joins the pool.",
    )
    reps = forms.ModelMultipleChoiceField(
        queryset=Rep.objects.select_related("user"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Reps added to the pool by name.",
    )
    strategy = forms.ChoiceField(choices=RoutingStrategy.choices)
    sla_hours = forms.DecimalField(
        min_value=0, max_digits=6, decimal_places=2, initial=8, label="SLA (business hours)"
    )


class RepForm(forms.Form):
    capacity = forms.IntegerField(
        min_value=0, max_value=MAX_REP_CAPACITY, help_text="Maximum pending handoffs at once."
    )
    is_active = forms.BooleanField(required=False, label="Active")
    out_of_office_until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Out of office until"
    )
    is_technical_expert = forms.BooleanField(required=False, label="Technical expert")
    segments = CommaListField(required=False, help_text="Comma-separated; empty for all.")
    product_lines = CommaListField(required=False, help_text="Comma-separated; empty for all.")
    territories = forms.ModelMultipleChoiceField(
        queryset=Territory.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    home_territory = forms.ModelChoiceField(
        queryset=Territory.objects.all(),
        required=False,
        help_text="Business hours for the rep's SLA.",
    )


class HandoffSettingsForm(forms.Form):
    required_context_fields = forms.MultipleChoiceField(
        choices=ContextField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Context marketing must fill before handing off",
    )
    required_qualification_fields = forms.MultipleChoiceField(
        choices=QualificationField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Qualification a rep must fill to accept",
    )
    default_sla_hours = forms.DecimalField(
        min_value=0, max_digits=6, decimal_places=2, label="Default SLA (business hours)"
    )
    auto_handoff_enabled = forms.BooleanField(required=False, label="Hand off automatically")
    auto_fit_threshold = forms.IntegerField(label="Minimum fit score")
    auto_event_kinds = forms.MultipleChoiceField(
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="High-intent event kinds",
    )
    auto_window_days = forms.IntegerField(min_value=1, label="Within the last (days)")
