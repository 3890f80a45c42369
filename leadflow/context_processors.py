from typing import Any

from django.http import HttpRequest

from leadflow.roles import user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    """Expose the current user's roles to templates, for showing only the menus they may use."""
    return {"user_roles": user_roles(request.user)}
