"""Compiled rule sets: the frozen dataclasses that both scorers read.

The Python scorer (scoring.engine) and the SQL rescore (scoring.sql) read the
same compiled rules, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scoring.errors import InvalidRuleSet
from scoring.patterns import Glob, Regex, compile_glob, compile_regex
from scoring.rules.catalogue import (
    ACCOUNT_FIELD_TYPES,
    ENGAGEMENT_RULE_KEYS,
    FIT_RULE_KEYS,
    ICP_KEYS,
    LEAD_FIELD_TYPES,
    VALUELESS_OPS,
    FieldRef,
    FieldType,
    ValueType,
    to_decimal,
)
from scoring.rules.validation import validate_document

if TYPE_CHECKING:
    from scoring.models import RuleSet


@dataclass(frozen=True)
class Cap:
    value: Decimal
    json: int | float


@dataclass(frozen=True)
class FitRule:
    id: str
    label: str
    group: str
    field: FieldRef
    op: str
    value_type: ValueType
    # Lower-cased texts, Decimals or one bool, by value_type; (low, high) for between.
    values: tuple[Any, ...]
    regex: Regex | None
    points: Decimal
    # The points as the document wrote them, echoed in the breakdown.
    points_json: int | float


@dataclass(frozen=True)
class EngagementRule:
    id: str
    label: str
    group: str
    kinds: tuple[str, ...]
    url_pattern: Glob | None
    asset: Glob | None
    campaign: Glob | None
    points: Decimal
    points_float: float
    cap: Cap | None
    window_days: int | None
    half_life_days: float | None


@dataclass(frozen=True)
class CompiledRuleSet:
    version: int
    fit_rules: tuple[FitRule, ...]
    engagement_rules: tuple[EngagementRule, ...]
    group_caps: dict[str, Cap]
    fit_cap: Cap | None
    engagement_cap: Cap | None
    fit_threshold: int
    engagement_threshold: float
    fast_track_kinds: tuple[str, ...]
    fast_track_window_days: int

    def fit_groups(self) -> list[str]:
        """Groups of the fit rules, in order of first use; "" (no group) is left out."""
        return list(dict.fromkeys(rule.group for rule in self.fit_rules if rule.group))

    def engagement_groups(self) -> list[str]:
        return list(dict.fromkeys(rule.group for rule in self.engagement_rules if rule.group))


def compile_document(document: Any, *, version: int) -> CompiledRuleSet:
    """Validate a document and compile it for the scorers; raise InvalidRuleSet if it is invalid."""
    normalised, errors = validate_document(document)
    if errors:
        raise InvalidRuleSet(errors)

    fit_rules = tuple(_compile_fit_rule(rule) for rule in normalised["fit_rules"])
    engagement_rules = tuple(
        _compile_engagement_rule(rule) for rule in normalised["engagement_rules"]
    )
    return CompiledRuleSet(
        version=version,
        fit_rules=fit_rules,
        engagement_rules=engagement_rules,
        group_caps={
            group: Cap(to_decimal(cap), cap) for group, cap in normalised["group_caps"].items()
        },
        fit_cap=_cap(normalised["fit_cap"]),
        engagement_cap=_cap(normalised["engagement_cap"]),
        fit_threshold=normalised["fit_threshold"],
        engagement_threshold=float(normalised["engagement_threshold"]),
        fast_track_kinds=tuple(normalised["fast_track_kinds"]),
        fast_track_window_days=normalised["fast_track_window_days"],
    )


def _cap(value: int | float | None) -> Cap | None:
    return None if value is None else Cap(to_decimal(value), value)


def _compile_fit_rule(rule: dict[str, Any]) -> FitRule:
    scope, name = rule["field"].split(".", 1)
    if scope == "custom":
        field = FieldRef("custom", name, FieldType.ANY)
    else:
        types = LEAD_FIELD_TYPES if scope == "lead" else ACCOUNT_FIELD_TYPES
        field = FieldRef(scope, name, types[name])

    op = rule["op"]
    value = rule["value"]
    regex = compile_regex(value) if op == "matches" else None
    if isinstance(value, list):
        items = value
    elif value is None:
        items = []
    else:
        items = [value]
    if op in VALUELESS_OPS:
        value_type = ValueType.BOOL if op in ("is_true", "is_false") else ValueType.NONE
        values: tuple[Any, ...] = ()
    elif op in ("matches", "contains", "contains_any") or isinstance(items[0], str):
        value_type = ValueType.TEXT
        values = tuple(item.lower() for item in items)
    elif isinstance(items[0], bool):
        value_type = ValueType.BOOL
        values = tuple(items)
    else:
        value_type = ValueType.NUMBER
        values = tuple(to_decimal(item) for item in items)

    return FitRule(
        id=rule["id"],
        label=rule["label"],
        group=rule["group"],
        field=field,
        op=op,
        value_type=value_type,
        values=values,
        regex=regex,
        points=to_decimal(rule["points"]),
        points_json=rule["points"],
    )


def _compile_engagement_rule(rule: dict[str, Any]) -> EngagementRule:
    kinds = tuple(rule["kinds"]) if "kinds" in rule else (rule["kind"],)
    half_life = rule["half_life_days"]
    return EngagementRule(
        id=rule["id"],
        label=rule["label"],
        group=rule["group"],
        kinds=kinds,
        url_pattern=compile_glob(rule["url_pattern"]) if rule["url_pattern"] else None,
        asset=compile_glob(rule["asset"]) if rule["asset"] else None,
        campaign=compile_glob(rule["campaign"]) if rule["campaign"] else None,
        points=to_decimal(rule["points"]),
        points_float=float(rule["points"]),
        cap=_cap(rule["cap"]),
        window_days=rule["window_days"],
        half_life_days=None if half_life is None else float(half_life),
    )


def document_from_ruleset(ruleset: RuleSet) -> dict[str, Any]:
    """Return the rule set as a document; loading it again gives the same rules.

    Keys come in the catalogue's order and group caps by name, whatever order
    the database kept, so an export of the same rules is always the same text.
    """
    return {
        "name": ruleset.name,
        "notes": ruleset.notes,
        "icp": _in_order(ruleset.icp, ICP_KEYS),
        "fit_rules": [_in_order(rule, FIT_RULE_KEYS) for rule in ruleset.fit_rules],
        "engagement_rules": [
            _in_order(rule, ENGAGEMENT_RULE_KEYS) for rule in ruleset.engagement_rules
        ],
        "group_caps": dict(sorted(ruleset.group_caps.items())),
        "fit_cap": ruleset.fit_cap,
        "engagement_cap": _plain_number(ruleset.engagement_cap),
        "fit_threshold": ruleset.fit_threshold,
        "engagement_threshold": _plain_number(ruleset.engagement_threshold),
        "fast_track_kinds": ruleset.fast_track_kinds,
        "fast_track_window_days": ruleset.fast_track_window_days,
    }


def _in_order(mapping: Any, keys: tuple[str, ...]) -> Any:
    """Order a mapping's keys as `keys` lists them, unknown keys last; pass other values through."""
    if not isinstance(mapping, dict):
        return mapping
    known = {key: mapping[key] for key in keys if key in mapping}
    return known | {key: value for key, value in mapping.items() if key not in known}


def _plain_number(value: float | None) -> int | float | None:
    """Write a float column that contains a whole number as an integer, as a person would type it."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    return compile_document(document_from_ruleset(ruleset), version=ruleset.version)
