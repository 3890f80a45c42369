"""The fixed catalogue of API key scopes.

A scope is `<resource>:<access>`. A key holds a list of them, and each scope
allows exactly what it names: `leads:write` does not imply `leads:read`.
Scopes only narrow what a key may do; the roles of the user the key acts as
still apply on top.
"""

from __future__ import annotations

from collections.abc import Iterable

SCOPES: dict[str, str] = {
    "events:write": "Send engagement events.",
    "events:read": "Read engagement events.",
    "leads:read": "Read leads, their statuses and scores.",
    "leads:write": "Create and update leads and move them through the lifecycle.",
    "accounts:read": "Read accounts.",
    "accounts:write": "Create and update accounts.",
    "rulesets:read": "Read scoring rule sets.",
    "rulesets:write": "Edit, simulate and publish scoring rule sets.",
    "handoffs:read": "Read handoffs.",
    "handoffs:write": "Create, accept, reject and reassign handoffs.",
    "reps:read": "Read sales reps and their capacity.",
    "reps:write": "Edit sales reps and their capacity.",
    "routing:read": "Read routing rules.",
    "routing:write": "Edit routing rules.",
    "reports:read": "Read funnel and outcome reports.",
    "webhooks:read": "Read webhook endpoints and deliveries.",
    "webhooks:write": "Register webhook endpoints and replay deliveries.",
}

SCOPE_CHOICES: list[tuple[str, str]] = [(name, name) for name in SCOPES]


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """Return the names in `scopes` that are not in the catalogue, in their given order."""
    return [scope for scope in scopes if scope not in SCOPES]
