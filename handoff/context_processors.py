"""Template context of the handoff app for the base layout."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest

from handoff import selectors
from leadflow.roles import REVOPS, SALES, SALES_MANAGER, has_role


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Expose `show_inbox`: whether the main menu links to the rep inbox.

    Only a user with a rep profile has an inbox. The value is a function, which a template
    calls when it reads the value, so pages that never show the menu make no query.
    """
    user = getattr(request, "user", None)
    if user is None or not has_role(user, SALES, SALES_MANAGER, REVOPS):
        return {"show_inbox": False}
    return {"show_inbox": functools.cache(functools.partial(selectors.user_has_rep_profile, user))}
