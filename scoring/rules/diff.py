"""Describe the difference between two rule-set documents in lines a person can scan.

The lines go into the rule-set history ("fit_threshold 50 → 55", "added fit
rule rfq-eu"), so they name fields and rule ids as the JSON document does.
"""

from __future__ import annotations

from typing import Any

from scoring.rules.catalogue import ICP_KEYS, show

# Scalar fields in the order the editor shows them.
SCALAR_FIELDS = (
    "name",
    "fit_threshold",
    "engagement_threshold",
    "fit_cap",
    "engagement_cap",
    "fast_track_window_days",
)
RULE_LISTS = (("fit_rules", "fit rule"), ("engagement_rules", "engagement rule"))


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """List the changes from `before` to `after`, both normalised documents; [] when equal."""
    lines: list[str] = []
    for name in SCALAR_FIELDS:
        if _differs(before.get(name), after.get(name)):
            lines.append(f"{name} {_short(before.get(name))} → {_short(after.get(name))}")
    if before.get("notes", "") != after.get("notes", ""):
        lines.append("notes changed")

    before_icp = before.get("icp") or {}
    after_icp = after.get("icp") or {}
    for key in ICP_KEYS:
        lines += _list_changes(f"icp.{key}", before_icp.get(key) or [], after_icp.get(key) or [])

    for list_name, noun in RULE_LISTS:
        lines += _rule_changes(noun, before.get(list_name) or [], after.get(list_name) or [])

    lines += _group_cap_changes(before.get("group_caps") or {}, after.get("group_caps") or {})
    lines += _list_changes(
        "fast_track_kinds",
        before.get("fast_track_kinds") or [],
        after.get("fast_track_kinds") or [],
    )
    return lines


def _differs(left: Any, right: Any) -> bool:
    # 40 and 40.0 are the same threshold; a float column reads back what an integer wrote.
    if isinstance(left, int | float) and isinstance(right, int | float):
        return bool(left != right) or isinstance(left, bool) != isinstance(right, bool)
    return bool(left != right)


def _short(value: Any) -> str:
    return "none" if value is None else show(value)


def _list_changes(label: str, before: list[Any], after: list[Any]) -> list[str]:
    added = [item for item in after if item not in before]
    removed = [item for item in before if item not in after]
    parts = []
    if added:
        parts.append("added " + ", ".join(str(item) for item in added))
    if removed:
        parts.append("removed " + ", ".join(str(item) for item in removed))
    return [f"{label}: {'; '.join(parts)}"] if parts else []


def _rule_changes(
    noun: str, before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[str]:
    before_by_id = {rule.get("id"): rule for rule in before if isinstance(rule, dict)}
    after_by_id = {rule.get("id"): rule for rule in after if isinstance(rule, dict)}
    lines = [f"added {noun} {rule_id}" for rule_id in after_by_id if rule_id not in before_by_id]
    lines += [f"removed {noun} {rule_id}" for rule_id in before_by_id if rule_id not in after_by_id]
    for rule_id, rule in after_by_id.items():
        old = before_by_id.get(rule_id)
        if old is None:
            continue
        changes = [
            f"{key} {_short(old.get(key))} → {_short(rule.get(key))}"
            for key in dict.fromkeys([*old, *rule])
            if _differs(old.get(key), rule.get(key))
        ]
        if changes:
            lines.append(f"changed {noun} {rule_id}: {', '.join(changes)}")

    # The order of rules is the order of the breakdown, so a move is worth a line.
    kept_before = [rule_id for rule_id in before_by_id if rule_id in after_by_id]
    kept_after = [rule_id for rule_id in after_by_id if rule_id in before_by_id]
    if kept_before != kept_after:
        lines.append(f"reordered {noun}s")
    return lines


def _group_cap_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = []
    for group, cap in after.items():
        if group not in before:
            lines.append(f"added group cap {group} {_short(cap)}")
        elif _differs(before[group], cap):
            lines.append(f"group cap {group} {_short(before[group])} → {_short(cap)}")
    lines += [f"removed group cap {group}" for group in before if group not in after]
    return lines
