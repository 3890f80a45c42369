"""The main menu's Inbox link and the inbox of a sales user without a rep profile."""

import re

import pytest
from django.urls import reverse

from leadflow.roles import SALES_MANAGER
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db

MAIN_NAV = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.S)


def nav_links(response):
    nav = MAIN_NAV.search(response.content.decode())
    assert nav is not None, "the page has no main menu"
    return re.findall(r">([^<>]+)</a>", nav.group(1))


def test_nav_hides_inbox_without_rep_profile(client, rep):
    client.force_login(rep)

    response = client.get(reverse("handoff:inbox"))

    assert response.status_code == 200
    assert "Inbox" not in nav_links(response)


def test_nav_shows_inbox_to_rep(client):
    profile = RepFactory()
    client.force_login(profile.user)

    response = client.get(reverse("handoff:inbox"))

    assert nav_links(response) == ["Inbox"]


def test_inbox_explains_missing_rep_profile(client, rep):
    client.force_login(rep)

    response = client.get(reverse("handoff:inbox"))

    body = response.content.decode()
    assert 'data-testid="no-rep-profile"' in body
    assert "Your user rep has no rep profile" in body
    assert "the Reps page of the Handoff section" in body
    assert "load_sales_teams" in body
    assert 'data-testid="pending-handoffs"' not in body
    assert 'class="message error"' not in body


def test_inbox_names_revops_to_ask(client, rep):
    UserFactory(username="ops.anna", first_name="Anna", last_name="Berg", roles=["revops"])
    UserFactory(username="ops.noname", roles=["revops"])
    UserFactory(username="ops.gone", roles=["revops"], is_active=False)
    client.force_login(rep)

    response = client.get(reverse("handoff:inbox"))

    body = response.content.decode()
    assert "Anna Berg" in body
    assert "ops.noname" in body
    assert "ops.gone" not in body


def test_nav_of_manager_unchanged(client, sales_manager):
    client.force_login(sales_manager)

    response = client.get(reverse("handoff:manager"))

    assert nav_links(response) == ["Open handoffs", "Sales feedback", "Routing", "Reps"]


def test_nav_of_revops_unchanged(client, revops):
    client.force_login(revops)

    response = client.get(reverse("handoff:manager"))

    assert nav_links(response)[:6] == [
        "MQL queue",
        "Open handoffs",
        "Sales feedback",
        "Routing",
        "Reps",
        "Scoring",
    ]
    assert "Inbox" not in nav_links(response)


def test_nav_shows_inbox_to_manager_with_rep_profile(client):
    profile = RepFactory(user__username="player.coach", user__roles=[SALES_MANAGER])
    client.force_login(profile.user)

    response = client.get(reverse("handoff:manager"))

    assert nav_links(response) == ["Inbox", "Open handoffs", "Sales feedback", "Routing", "Reps"]
