"""The four roles of Leadflow, held as Django groups."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

MARKETING = "marketing"
SALES = "sales"
SALES_MANAGER = "sales_manager"
REVOPS = "revops"
ALL_ROLES = (MARKETING, SALES, SALES_MANAGER, REVOPS)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """Return the role names a user holds; superusers hold every role."""
    if not user.is_authenticated:
        return set()
    if getattr(user, "is_superuser", False):
        return set(ALL_ROLES)
    cached = getattr(user, "_leadflow_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        user._leadflow_roles = cached  # type: ignore[attr-defined,union-attr]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
