"""The user types the services accept, and turning a request's user into a stored one."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

# The type of request.user. Services accept any of these and store only a signed-in user.
Actor: TypeAlias = AbstractBaseUser | AnonymousUser | None


def stored_user(actor: Actor) -> User | None:
    """Return the actor as a user to store in a foreign key, or None for anonymous and system actors."""
    if isinstance(actor, User) and actor.is_authenticated:
        return actor
    return None
