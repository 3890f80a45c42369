"""Validation of rule-set documents, with errors keyed by path such as ``fit_rules[2].value``.

Each message names the bad value and the fix. Valid items are checked as
thoroughly as invalid ones, so one call reports every problem of a document.
"""

from __future__ import annotations

from typing import Any

from scoring.patterns import PatternError, compile_glob, compile_regex
from scoring.rules.catalogue import (
    ACCOUNT_FIELD_TYPES,
    DOCUMENT_DEFAULTS,
    ENGAGEMENT_RULE_KEYS,
    EVENT_KINDS,
    FIT_RULE_KEYS,
    ICP_KEYS,
    LEAD_FIELD_TYPES,
    MAX_CAP,
    MAX_DAYS,
    MAX_LIST_VALUES,
    MAX_POINTS,
    OPS,
    OPS_BY_TYPE,
    REQUIRED_FIELDS,
    RULE_ID_PATTERN,
    VALUELESS_OPS,
    FieldRef,
    FieldType,
    is_number,
    show,
)


class _Validator:
    """Walk one document, collecting errors by path and building the normalised document."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def run(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            self.error(
                "non_field_errors",
                f"Expected a rule-set object, got {type(document).__name__}; "
                "send a JSON object as described in docs/scoring.md.",
            )
            return {}

        for key in document:
            if key not in DOCUMENT_DEFAULTS:
                self.error(
                    str(key),
                    f"Unknown field {show(key)}; remove it or use one of "
                    f"{', '.join(DOCUMENT_DEFAULTS)}.",
                )
        for key in REQUIRED_FIELDS:
            if document.get(key) is None:
                self.error(key, f"Missing; {_REQUIRED_HINTS[key]}")

        normalised: dict[str, Any] = {
            key: document.get(key, default) for key, default in DOCUMENT_DEFAULTS.items()
        }
        normalised["name"] = self.text(document.get("name"), "name", max_length=200)
        normalised["notes"] = self.text(
            document.get("notes", ""), "notes", max_length=10_000, allow_empty=True
        )
        normalised["icp"] = self.icp(document.get("icp", {}))
        normalised["fit_rules"] = self.rules(
            document.get("fit_rules", []), "fit_rules", self.fit_rule
        )
        normalised["engagement_rules"] = self.rules(
            document.get("engagement_rules", []), "engagement_rules", self.engagement_rule
        )
        self.duplicate_ids(normalised)
        normalised["group_caps"] = self.group_caps(document.get("group_caps", {}), normalised)
        normalised["fit_cap"] = self.cap(
            document.get("fit_cap"), "fit_cap", integer=True, hint="the maximum fit score"
        )
        normalised["engagement_cap"] = self.cap(
            document.get("engagement_cap"), "engagement_cap", hint="the maximum engagement score"
        )
        self.thresholds(document, normalised)
        normalised["fast_track_kinds"] = self.kind_list(
            document.get("fast_track_kinds", []), "fast_track_kinds", allow_empty=True
        )
        normalised["fast_track_window_days"] = self.days(
            document.get("fast_track_window_days", 90), "fast_track_window_days", required=True
        )
        return normalised

    # Scalars.

    def text(self, value: Any, path: str, *, max_length: int, allow_empty: bool = False) -> Any:
        if value is None and not allow_empty:
            return value
        if not isinstance(value, str):
            self.error(path, f"Expected text, got {show(value)}; write it in double quotes.")
            return value
        if not allow_empty and not value.strip():
            self.error(path, "Empty; write a short descriptive text.")
        if len(value) > max_length:
            self.error(
                path,
                f"The text is {len(value)} characters long; shorten it to {max_length} or fewer.",
            )
        return value

    def identifier(
        self, value: Any, path: str, *, description: str, allow_empty: bool = False
    ) -> Any:
        if allow_empty and value in ("", None):
            return ""
        if not isinstance(value, str) or not RULE_ID_PATTERN.fullmatch(value):
            self.error(
                path,
                f"{show(value)} is not a valid {description}; use 1 to 64 letters, digits, '-', '_' "
                "or '.', starting with a letter or digit, such as 'core-segment'.",
            )
        return value

    def points(self, value: Any, path: str) -> Any:
        if not is_number(value):
            self.error(
                path, f"{show(value)} is not a number; give the points as a number, such as 10."
            )
        elif abs(value) > MAX_POINTS:
            self.error(
                path,
                f"{show(value)} is outside -{MAX_POINTS} to {MAX_POINTS}; use a smaller number.",
            )
        return value

    def cap(self, value: Any, path: str, *, hint: str, integer: bool = False) -> Any:
        if value is None:
            return None
        expected = "a whole number" if integer else "a number"
        if not is_number(value) or (integer and not isinstance(value, int)):
            self.error(path, f"{show(value)} is not {expected}; give {hint} or null for no cap.")
        elif value <= 0:
            self.error(
                path,
                f"{show(value)} is not positive; a cap limits a total to between -cap and cap, "
                "so give a positive number or null for no cap.",
            )
        elif value > MAX_CAP:
            self.error(path, f"{show(value)} is larger than {MAX_CAP}; use a smaller cap.")
        return value

    def days(self, value: Any, path: str, *, required: bool = False, integer: bool = True) -> Any:
        if value is None and not required:
            return None
        expected = "a whole number of days" if integer else "a number of days"
        if not is_number(value) or (integer and not isinstance(value, int)):
            suffix = "" if required else ", or null"
            self.error(
                path, f"{show(value)} is not {expected}; give {expected} such as 90{suffix}."
            )
        elif not 0 < value <= MAX_DAYS:
            self.error(
                path, f"{show(value)} is outside 1 to {MAX_DAYS} days; use a value in that range."
            )
        return value

    def thresholds(self, document: dict[str, Any], normalised: dict[str, Any]) -> None:
        fit_threshold = document.get("fit_threshold")
        if fit_threshold is not None and (
            not is_number(fit_threshold) or not isinstance(fit_threshold, int)
        ):
            self.error(
                "fit_threshold",
                f"{show(fit_threshold)} is not a whole number; fit scores are integers, "
                "so give an integer such as 50.",
            )
        engagement_threshold = document.get("engagement_threshold")
        if engagement_threshold is not None and (
            not is_number(engagement_threshold) or engagement_threshold < 0
        ):
            self.error(
                "engagement_threshold",
                f"{show(engagement_threshold)} is not a number of zero or more; give a number "
                "such as 40.",
            )
        normalised["fit_threshold"] = fit_threshold
        normalised["engagement_threshold"] = engagement_threshold

    # Collections.

    def icp(self, value: Any) -> Any:
        if not isinstance(value, dict):
            self.error("icp", f"Expected an object of lists, got {show(value)}.")
            return value
        normalised: dict[str, Any] = {}
        for key in value:
            if key not in ICP_KEYS:
                self.error(f"icp.{key}", f"Unknown ICP field; use one of {', '.join(ICP_KEYS)}.")
        for key in ICP_KEYS:
            items = value.get(key, [])
            normalised[key] = items
            if not isinstance(items, list):
                self.error(f"icp.{key}", f"Expected a list of texts, got {show(items)}.")
                continue
            for index, item in enumerate(items):
                if not isinstance(item, str) or not item.strip():
                    self.error(
                        f"icp.{key}[{index}]",
                        f"{show(item)} is not a non-empty text; write a value such as "
                        "'automotive'.",
                    )
        return normalised

    def rules(self, value: Any, path: str, check: Any) -> Any:
        if not isinstance(value, list):
            self.error(path, f"Expected a list of rules, got {show(value)}.")
            return value
        return [check(rule, f"{path}[{index}]") for index, rule in enumerate(value)]

    def unknown_keys(
        self, rule: dict[str, Any], path: str, allowed: tuple[str, ...], description: str
    ) -> None:
        for key in rule:
            if key not in allowed:
                self.error(
                    f"{path}.{key}",
                    f"Unknown field {show(key)}; a {description} has {', '.join(allowed)}.",
                )

    def fit_rule(self, rule: Any, path: str) -> Any:
        if not isinstance(rule, dict):
            self.error(path, f"Expected a rule object, got {show(rule)}.")
            return rule
        self.unknown_keys(rule, path, FIT_RULE_KEYS, "fit rule")
        normalised = self.rule_head(rule, path)

        field = self.field_ref(rule.get("field"), f"{path}.field")
        op = rule.get("op")
        if op not in OPS:
            self.error(f"{path}.op", f"{show(op)} is not an operator; use one of {', '.join(OPS)}.")
        elif field is not None and op not in OPS_BY_TYPE[field.type]:
            self.error(
                f"{path}.op",
                f"{show(op)} does not apply to {field.path}, a {field.type} field; use one of "
                f"{', '.join(OPS_BY_TYPE[field.type])}.",
            )
        elif field is not None:
            self.fit_value(rule.get("value"), f"{path}.value", op, field)

        normalised.update(
            field=rule.get("field"),
            op=op,
            value=rule.get("value"),
            points=self.points(rule.get("points"), f"{path}.points"),
        )
        return normalised

    def rule_head(self, rule: dict[str, Any], path: str) -> dict[str, Any]:
        rule_id = self.identifier(rule.get("id"), f"{path}.id", description="rule id")
        label = rule.get("label")
        if label is None:
            label = rule_id
        else:
            self.text(label, f"{path}.label", max_length=200)
        group = self.identifier(
            rule.get("group", ""), f"{path}.group", description="group", allow_empty=True
        )
        return {"id": rule_id, "label": label, "group": group}

    def field_ref(self, value: Any, path: str) -> FieldRef | None:
        if not isinstance(value, str) or "." not in value:
            self.error(
                path,
                f"{show(value)} is not a field; write lead.<name>, account.<name> or "
                "custom.<key>, such as account.segment.",
            )
            return None
        scope, name = value.split(".", 1)
        if scope == "custom":
            if not name or len(name) > 100:
                self.error(
                    path, f"{show(value)} needs a custom attribute key of 1 to 100 characters."
                )
                return None
            return FieldRef("custom", name, FieldType.ANY)
        known = {"lead": LEAD_FIELD_TYPES, "account": ACCOUNT_FIELD_TYPES}.get(scope)
        if known is None:
            self.error(
                path,
                f"{show(value)} does not start with lead., account. or custom.; "
                "write a field such as lead.job_function.",
            )
            return None
        if name not in known:
            self.error(
                path,
                f"{show(value)} is not {'an' if scope == 'account' else 'a'} {scope} field; use one of "
                f"{', '.join(f'{scope}.{known_name}' for known_name in known)}.",
            )
            return None
        return FieldRef(scope, name, known[name])

    def fit_value(self, value: Any, path: str, op: str, field: FieldRef) -> None:
        if op in VALUELESS_OPS:
            if value is not None:
                self.error(path, f"{show(op)} takes no value, got {show(value)}; remove the value.")
            return
        if op == "matches":
            if not isinstance(value, str):
                self.error(
                    path, f"'matches' needs a regular expression as text, got {show(value)}."
                )
                return
            try:
                compile_regex(value)
            except PatternError as error:
                self.error(path, str(error))
            return
        if op in ("gte", "lte"):
            if not is_number(value):
                self.error(path, f"{show(op)} needs a number, got {show(value)}.")
            return
        if op == "between":
            if not (isinstance(value, list) and len(value) == 2 and all(map(is_number, value))):
                self.error(path, f"'between' needs a [low, high] list, got {show(value)}.")
            elif value[0] > value[1]:
                self.error(
                    path,
                    f"'between' needs low <= high, got {show(value)}; write "
                    f"{show([value[1], value[0]])}.",
                )
            return
        if op == "contains":
            if not isinstance(value, str) or not value:
                self.error(path, f"'contains' needs one non-empty text, got {show(value)}.")
            return
        if op == "contains_any":
            self.value_list(value, path, op, FieldType.TEXT)
            return
        if op in ("in", "not_in"):
            self.value_list(value, path, op, field.type)
            return
        self.scalar(value, path, op, field.type)

    def scalar(self, value: Any, path: str, op: str, field_type: FieldType) -> None:
        if field_type == FieldType.TEXT or (field_type == FieldType.ANY and isinstance(value, str)):
            if not isinstance(value, str) or not value:
                self.error(
                    path,
                    f"{show(op)} needs a non-empty text, got {show(value)}; "
                    "use is_empty to test for an empty value.",
                )
        elif field_type == FieldType.NUMBER:
            if not is_number(value):
                self.error(path, f"{show(op)} needs a number, got {show(value)}.")
        elif field_type == FieldType.BOOL:
            if not isinstance(value, bool):
                self.error(path, f"{show(op)} needs true or false, got {show(value)}.")
        elif not (is_number(value) or isinstance(value, bool)):
            self.error(
                path,
                f"{show(op)} needs a text, a number, true or false, got {show(value)}.",
            )

    def value_list(self, value: Any, path: str, op: str, field_type: FieldType) -> None:
        if not isinstance(value, list) or not value:
            self.error(path, f"{show(op)} needs a non-empty list, got {show(value)}.")
            return
        if len(value) > MAX_LIST_VALUES:
            self.error(path, f"The list has {len(value)} values; keep it to {MAX_LIST_VALUES}.")
        all_texts = all(isinstance(item, str) and item for item in value)
        all_numbers = all(is_number(item) for item in value)
        if field_type == FieldType.TEXT and not all_texts:
            self.error(path, f"{show(op)} needs a list of non-empty texts, got {show(value)}.")
        elif field_type == FieldType.NUMBER and not all_numbers:
            self.error(path, f"{show(op)} needs a list of numbers, got {show(value)}.")
        elif field_type == FieldType.ANY and not (all_texts or all_numbers):
            self.error(
                path,
                f"{show(op)} needs a list of texts or a list of numbers, not a mix, "
                f"got {show(value)}.",
            )

    def engagement_rule(self, rule: Any, path: str) -> Any:
        if not isinstance(rule, dict):
            self.error(path, f"Expected a rule object, got {show(rule)}.")
            return rule
        self.unknown_keys(rule, path, ENGAGEMENT_RULE_KEYS, "engagement rule")
        normalised = self.rule_head(rule, path)

        if ("kind" in rule) == ("kinds" in rule):
            self.error(
                f"{path}.kind",
                "Give either kind (one event kind) or kinds (a list), not both or neither.",
            )
        elif "kind" in rule:
            normalised["kind"] = self.kind(rule["kind"], f"{path}.kind")
        else:
            normalised["kinds"] = self.kind_list(rule["kinds"], f"{path}.kinds")

        for key in ("url_pattern", "asset", "campaign"):
            normalised[key] = self.glob(rule.get(key, ""), f"{path}.{key}")
        normalised["points"] = self.points(rule.get("points"), f"{path}.points")
        normalised["cap"] = self.cap(
            rule.get("cap"), f"{path}.cap", hint="the maximum points of the rule"
        )
        normalised["window_days"] = self.days(rule.get("window_days"), f"{path}.window_days")
        normalised["half_life_days"] = self.days(
            rule.get("half_life_days"), f"{path}.half_life_days", integer=False
        )
        return normalised

    def kind(self, value: Any, path: str) -> Any:
        if value not in EVENT_KINDS:
            self.error(
                path, f"{show(value)} is not an event kind; use one of {', '.join(EVENT_KINDS)}."
            )
        return value

    def kind_list(self, value: Any, path: str, *, allow_empty: bool = False) -> Any:
        if not isinstance(value, list) or (not value and not allow_empty):
            self.error(path, f"Expected a list of event kinds, got {show(value)}.")
            return value
        seen: set[str] = set()
        for index, item in enumerate(value):
            self.kind(item, f"{path}[{index}]")
            if isinstance(item, str) and item in seen:
                self.error(f"{path}[{index}]", f"{show(item)} is listed twice; remove one.")
            seen.add(item if isinstance(item, str) else "")
        return value

    def glob(self, value: Any, path: str) -> Any:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.error(
                path, f'Expected a glob as text, got {show(value)}; use "" to match anything.'
            )
            return value
        if value:
            try:
                compile_glob(value)
            except PatternError as error:
                self.error(path, str(error))
        return value

    def duplicate_ids(self, normalised: dict[str, Any]) -> None:
        first_path: dict[str, str] = {}
        for list_name in ("fit_rules", "engagement_rules"):
            rules = normalised[list_name]
            if not isinstance(rules, list):
                continue
            for index, rule in enumerate(rules):
                rule_id = rule.get("id") if isinstance(rule, dict) else None
                if not isinstance(rule_id, str):
                    continue
                path = f"{list_name}[{index}]"
                if rule_id in first_path:
                    self.error(
                        f"{path}.id",
                        f"Duplicate rule id {show(rule_id)} (also {first_path[rule_id]}); "
                        "give each rule its own id.",
                    )
                else:
                    first_path[rule_id] = path

    def group_caps(self, value: Any, normalised: dict[str, Any]) -> Any:
        if not isinstance(value, dict):
            self.error("group_caps", f"Expected an object of group: cap, got {show(value)}.")
            return value
        groups: dict[str, set[str]] = {}
        for list_name in ("fit_rules", "engagement_rules"):
            rules = normalised[list_name] if isinstance(normalised[list_name], list) else []
            for rule in rules:
                if isinstance(rule, dict) and isinstance(rule.get("group"), str) and rule["group"]:
                    groups.setdefault(rule["group"], set()).add(list_name)
        for group, cap in value.items():
            path = f"group_caps.{group}"
            self.cap(cap, path, hint=f"the maximum points of group {show(group)}")
            if group not in groups:
                known = ", ".join(sorted(groups)) or "none"
                self.error(
                    path, f"No rule is in group {show(group)}; fix the name (groups: {known})."
                )
            elif len(groups[group]) > 1:
                self.error(
                    path,
                    f"Group {show(group)} has fit and engagement rules, so its cap would mix "
                    "two scores; give the fit rules or the engagement rules another group.",
                )
        return value


_REQUIRED_HINTS = {
    "name": "give the rule set a name such as 'Manufacturing default'.",
    "fit_threshold": "give the fit score a lead needs for MQL, such as 50.",
    "engagement_threshold": "give the engagement score a lead needs for MQL, such as 40.",
}


def validate_document(document: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check a rule-set document; return it normalised (defaults filled in) and the errors by path.

    The normalised document is meaningful only when there are no errors.
    """
    validator = _Validator()
    normalised = validator.run(document)
    return normalised, validator.errors
