"""The demo logins: one user per role plus regional sales reps, all with one documented password."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, User

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER

# Printed by seed_demo and written in the README; for local demos only.
DEMO_PASSWORD = "leadflow-demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str


DEMO_USERS = (
    DemoUser("marketer", "Maya", "Lindqvist", MARKETING),
    DemoUser("rep", "Tomás", "Herrera", SALES),
    DemoUser("manager", "Grace", "Okafor", SALES_MANAGER),
    DemoUser("revops", "Felix", "Baumann", REVOPS),
    DemoUser("rep.emea", "Lena", "Hoffmann", SALES),
    DemoUser("rep.americas", "Marcus", "Reed", SALES),
    DemoUser("rep.apac", "Priya", "Iyer", SALES),
)


def demo_users_ensure(*, password: str = DEMO_PASSWORD) -> list[User]:
    """Create the demo users, or reset their role and password; return them in DEMO_USERS order.

    revops is also staff and superuser, because revenue operations administers
    Leadflow in the Django admin.
    """
    users = []
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=demo.username)
        user.first_name, user.last_name = demo.first_name, demo.last_name
        user.email = f"{demo.username}@leadflow-demo.example"
        user.is_staff = user.is_superuser = demo.role == REVOPS
        user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name=demo.role)
        user.groups.add(group)
        users.append(user)
    return users
