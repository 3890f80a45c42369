"""Forms of the rule-set editor: one per section of the draft and one per rule.

A form only turns what a person typed into the JSON shapes of the rule-set
document (lists from comma-separated text, numbers from digits). Whether the
document is valid is decided by scoring.rules.validate_document, whose
errors, keyed by path such as ``fit_rules[2].value``, each form places next
to the field that caused them.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from scoring.rules import (
    ACCOUNT_FIELD_TYPES,
    EVENT_KINDS,
    ICP_KEYS,
    LEAD_FIELD_TYPES,
    OPS,
    FieldType,
)
from scoring.rules.catalogue import VALUELESS_OPS

ICP_LABELS = {
    "segments": "Industry segments",
    "facility_types": "Facility types",
    "regions": "Regions",
    "employee_bands": "Employee bands",
    "revenue_bands": "Revenue bands",
    "processes": "Processes",
    "technologies": "Technologies",
    "job_functions": "Job functions",
    "seniorities": "Seniorities",
    "evaluation": "How the buyer evaluates vendors",
}
ICP_HELP = {
    "evaluation": "Such as technical_assessment, compliance_review, pilot.",
    "employee_bands": "Such as 250-999, 1000-4999, 5000+.",
    "revenue_bands": "Such as 50M-250M, 250M-1B, 1B+.",
}
OP_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "contains_any": "contains any of",
    "gte": "is at least",
    "lte": "is at most",
    "between": "is between",
    "is_true": "is true",
    "is_false": "is false",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "matches": "matches the regular expression",
}
CUSTOM_FIELD = "custom"
FIELD_CHOICES = [
    ("Lead", [(f"lead.{name}", f"lead.{name}") for name in LEAD_FIELD_TYPES]),
    ("Account", [(f"account.{name}", f"account.{name}") for name in ACCOUNT_FIELD_TYPES]),
    ("Custom attribute", [(CUSTOM_FIELD, "custom attribute (key below)")]),
]
KIND_CHOICES = [(kind, kind) for kind in EVENT_KINDS]
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


def parse_number(text: str) -> Any:
    """Read an integer or decimal number; other text is returned as typed, for the validator."""
    value = text.strip()
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        number = float(value)
        return int(number) if number.is_integer() and "e" not in value.lower() else number
    return value


def parse_optional_number(text: str) -> Any:
    return None if not text.strip() else parse_number(text)


def split_list(text: str) -> list[str]:
    """Split comma- or line-separated text into its non-empty items."""
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def show_number(value: Any) -> str:
    return "" if value is None else str(value)


class DocumentErrorsMixin:
    """Place validation errors of the whole document on this form's fields.

    `field_for_path` maps an error path to a field name, or None when the path
    belongs to another part of the document; those errors go to the form's
    non-field errors, prefixed with their path, so nothing is hidden.
    """

    def field_for_path(self, path: str) -> str | None:
        raise NotImplementedError

    def add_document_errors(self, errors: dict[str, list[str]]) -> None:
        form: Any = self
        for path, messages in errors.items():
            field = self.field_for_path(path)
            for message in messages:
                if field is not None and field in form.fields:
                    form.add_error(field, message)
                else:
                    form.add_error(None, f"{path}: {message}")


class GeneralForm(DocumentErrorsMixin, forms.Form):
    name = forms.CharField(required=False, max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> GeneralForm:
        return cls(initial={"name": document["name"], "notes": document["notes"]})

    def to_changes(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"], "notes": self.cleaned_data["notes"]}

    def field_for_path(self, path: str) -> str | None:
        return path if path in ("name", "notes") else None


class IcpForm(DocumentErrorsMixin, forms.Form):
    """The ideal customer profile: one comma-separated list per dimension."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in ICP_KEYS:
            self.fields[key] = forms.CharField(
                label=ICP_LABELS[key],
                required=False,
                help_text=ICP_HELP.get(key, ""),
                widget=forms.TextInput(attrs={"placeholder": "comma-separated"}),
            )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> IcpForm:
        icp = document.get("icp") or {}
        return cls(initial={key: ", ".join(map(str, icp.get(key) or [])) for key in ICP_KEYS})

    def to_changes(self) -> dict[str, Any]:
        return {"icp": {key: split_list(self.cleaned_data[key]) for key in ICP_KEYS}}

    def field_for_path(self, path: str) -> str | None:
        match = re.fullmatch(r"icp\.(\w+)(\[\d+\])?", path)
        return match.group(1) if match else None


class ThresholdsForm(DocumentErrorsMixin, forms.Form):
    """Thresholds, total caps and fast-track kinds: what makes a lead MQL."""

    fit_threshold = forms.CharField(label="Fit threshold", required=False)
    engagement_threshold = forms.CharField(label="Engagement threshold", required=False)
    fit_cap = forms.CharField(
        label="Fit cap", required=False, help_text="Maximum fit score; empty for no cap."
    )
    engagement_cap = forms.CharField(
        label="Engagement cap",
        required=False,
        help_text="Maximum engagement score; empty for no cap.",
    )
    fast_track_kinds = forms.MultipleChoiceField(
        label="Fast-track kinds",
        required=False,
        choices=KIND_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="An event of one of these kinds makes a lead that passes fit an MQL.",
    )
    fast_track_window_days = forms.CharField(label="Fast-track window (days)", required=False)

    NUMBER_FIELDS = ("fit_threshold", "engagement_threshold", "fast_track_window_days")
    CAP_FIELDS = ("fit_cap", "engagement_cap")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ThresholdsForm:
        return cls(
            initial={
                **{name: show_number(document[name]) for name in cls.NUMBER_FIELDS},
                **{name: show_number(document[name]) for name in cls.CAP_FIELDS},
                "fast_track_kinds": document["fast_track_kinds"],
            }
        )

    def to_changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changes: dict[str, Any] = {
            name: parse_optional_number(data[name]) for name in self.NUMBER_FIELDS
        }
        changes.update({name: parse_optional_number(data[name]) for name in self.CAP_FIELDS})
        # Keep the catalogue's order, so that re-saving the form is not reported as a change.
        chosen = set(data["fast_track_kinds"])
        changes["fast_track_kinds"] = [kind for kind in EVENT_KINDS if kind in chosen]
        return changes

    def field_for_path(self, path: str) -> str | None:
        name = path.split("[", 1)[0]
        return name if name in self.fields else None


class GroupCapsForm(DocumentErrorsMixin, forms.Form):
    """One optional cap per rule group that the rules use."""

    def __init__(self, *args: Any, groups: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = groups
        for group in groups:
            self.fields[f"cap_{group}"] = forms.CharField(label=group, required=False)

    @classmethod
    def from_document(cls, document: dict[str, Any], groups: list[str]) -> GroupCapsForm:
        caps = document.get("group_caps") or {}
        return cls(
            groups=groups,
            initial={f"cap_{group}": show_number(caps.get(group)) for group in groups},
        )

    def to_changes(self) -> dict[str, Any]:
        caps = {}
        for group in self.groups:
            value = parse_optional_number(self.cleaned_data[f"cap_{group}"])
            if value is not None:
                caps[group] = value
        return {"group_caps": caps}

    def field_for_path(self, path: str) -> str | None:
        match = re.fullmatch(r"group_caps\.(.+)", path)
        return f"cap_{match.group(1)}" if match else None


class FitRuleForm(DocumentErrorsMixin, forms.Form):
    """One fit rule: a condition on a lead, account or custom field worth some points."""

    id = forms.CharField(label="Rule id", required=False, max_length=64)
    label = forms.CharField(required=False, max_length=200)
    group = forms.CharField(required=False, max_length=64)
    field = forms.ChoiceField(label="Field", choices=FIELD_CHOICES)
    custom_key = forms.CharField(label="Custom attribute key", required=False, max_length=100)
    op = forms.ChoiceField(label="Condition", choices=[(op, OP_LABELS[op]) for op in OPS])
    value = forms.CharField(
        required=False,
        help_text="Lists are comma-separated; between takes low, high.",
    )
    points = forms.CharField(required=False)

    @classmethod
    def from_rule(cls, rule: dict[str, Any]) -> FitRuleForm:
        field = rule.get("field") or ""
        custom_key = ""
        if field.startswith("custom."):
            field, custom_key = CUSTOM_FIELD, field.split(".", 1)[1]
        return cls(
            initial={
                "id": rule.get("id", ""),
                "label": rule.get("label", ""),
                "group": rule.get("group", ""),
                "field": field,
                "custom_key": custom_key,
                "op": rule.get("op", "eq"),
                "value": format_rule_value(rule.get("value")),
                "points": show_number(rule.get("points")),
            }
        )

    def to_rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        field = data["field"]
        if field == CUSTOM_FIELD:
            field = f"custom.{data['custom_key'].strip()}"
        rule: dict[str, Any] = {
            "id": data["id"].strip(),
            "label": data["label"].strip() or data["id"].strip(),
            "group": data["group"].strip(),
            "field": field,
            "op": data["op"],
            "points": parse_number(data["points"]),
        }
        value = parse_rule_value(data["op"], field_type(field), data["value"])
        if data["op"] not in VALUELESS_OPS:
            rule["value"] = value
        return rule

    def field_for_path(self, path: str) -> str | None:
        match = re.fullmatch(r"fit_rules\[\d+\]\.(\w+)", path)
        if not match:
            return None
        name = match.group(1)
        return "field" if name == "field" else name


class EngagementRuleForm(DocumentErrorsMixin, forms.Form):
    """One engagement rule: events of some kinds, narrowed by URL, asset or campaign."""

    id = forms.CharField(label="Rule id", required=False, max_length=64)
    label = forms.CharField(required=False, max_length=200)
    group = forms.CharField(required=False, max_length=64)
    kinds = forms.MultipleChoiceField(
        label="Event kinds", choices=KIND_CHOICES, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    url_pattern = forms.CharField(
        label="URL pattern", required=False, help_text="A glob such as */pricing*; empty for any."
    )
    asset = forms.CharField(required=False, help_text="A glob; empty for any.")
    campaign = forms.CharField(required=False, help_text="A glob; empty for any.")
    points = forms.CharField(required=False, help_text="Per matching event.")
    cap = forms.CharField(required=False, help_text="Maximum points of the rule; empty for none.")
    window_days = forms.CharField(
        label="Window (days)", required=False, help_text="Older events do not count."
    )
    half_life_days = forms.CharField(
        label="Half-life (days)", required=False, help_text="Points halve every this many days."
    )

    @classmethod
    def from_rule(cls, rule: dict[str, Any]) -> EngagementRuleForm:
        kinds = rule.get("kinds") or ([rule["kind"]] if rule.get("kind") else [])
        return cls(
            initial={
                "id": rule.get("id", ""),
                "label": rule.get("label", ""),
                "group": rule.get("group", ""),
                "kinds": kinds,
                "url_pattern": rule.get("url_pattern", ""),
                "asset": rule.get("asset", ""),
                "campaign": rule.get("campaign", ""),
                "points": show_number(rule.get("points")),
                "cap": show_number(rule.get("cap")),
                "window_days": show_number(rule.get("window_days")),
                "half_life_days": show_number(rule.get("half_life_days")),
            }
        )

    def to_rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        kinds = data["kinds"]
        rule: dict[str, Any] = {
            "id": data["id"].strip(),
            "label": data["label"].strip() or data["id"].strip(),
            "group": data["group"].strip(),
        }
        if len(kinds) == 1:
            rule["kind"] = kinds[0]
        else:
            rule["kinds"] = list(kinds)
        rule.update(
            url_pattern=data["url_pattern"].strip(),
            asset=data["asset"].strip(),
            campaign=data["campaign"].strip(),
            points=parse_number(data["points"]),
            cap=parse_optional_number(data["cap"]),
            window_days=parse_optional_number(data["window_days"]),
            half_life_days=parse_optional_number(data["half_life_days"]),
        )
        return rule

    def field_for_path(self, path: str) -> str | None:
        match = re.fullmatch(r"engagement_rules\[\d+\]\.(\w+)(\[\d+\])?", path)
        if not match:
            return None
        name = match.group(1)
        return "kinds" if name == "kind" else name


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Rule-set JSON file",
        error_messages={"required": "Choose a rule-set JSON file exported from Leadflow."},
    )


def field_type(field: str) -> FieldType:
    scope, _, name = field.partition(".")
    if scope == "lead":
        return LEAD_FIELD_TYPES.get(name, FieldType.TEXT)
    if scope == "account":
        return ACCOUNT_FIELD_TYPES.get(name, FieldType.TEXT)
    return FieldType.ANY


def parse_rule_value(op: str, type_: FieldType, text: str) -> Any:
    """Turn the typed value of a fit rule into the JSON its operator expects."""
    if op in VALUELESS_OPS:
        return None
    if op in ("matches", "contains"):
        return text.strip()
    if op in ("in", "not_in", "contains_any", "between"):
        items = split_list(text)
        if op == "between" or type_ == FieldType.NUMBER:
            return [parse_number(item) for item in items]
        if type_ == FieldType.ANY and items and all(_is_number(item) for item in items):
            return [parse_number(item) for item in items]
        return items
    if op in ("gte", "lte"):
        return parse_number(text)
    return _scalar(text.strip(), type_)


def _scalar(text: str, type_: FieldType) -> Any:
    if type_ == FieldType.NUMBER or (type_ == FieldType.ANY and _is_number(text)):
        return parse_number(text)
    if type_ in (FieldType.BOOL, FieldType.ANY) and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _is_number(text: str) -> bool:
    return not isinstance(parse_number(text), str)


def format_rule_value(value: Any) -> str:
    """Show a fit rule's value as the editor expects it typed back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(format_rule_value(item) for item in value)
    return str(value)
