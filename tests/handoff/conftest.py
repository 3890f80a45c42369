"""Fixtures for the handoff tests: a marketer-ready MQL and a small sales team."""

import pytest

from handoff.models import HandoffSettings
from tests.factories import LeadFactory, RepFactory, RoutingRuleFactory


@pytest.fixture
def handoff_settings(db):
    """Settings with no required context, so tests opt into the checks they exercise."""
    settings_row, _ = HandoffSettings.objects.get_or_create(pk=1)
    settings_row.required_context_fields = []
    settings_row.save()
    return settings_row


@pytest.fixture
def auto_enabled(handoff_settings):
    handoff_settings.auto_handoff_enabled = True
    handoff_settings.auto_fit_threshold = 60
    handoff_settings.auto_event_kinds = ["quote_request"]
    handoff_settings.auto_window_days = 30
    handoff_settings.save()
    return handoff_settings


@pytest.fixture
def mql(db):
    return LeadFactory(
        status="mql",
        interests=["cnc_machines"],
        first_touch_campaign="spring-expo",
        fit_score=70,
        engagement_score=55.0,
    )


@pytest.fixture
def team(db):
    """Three reps in one round-robin rule that matches every lead."""
    reps = [RepFactory(capacity=5) for _ in range(3)]
    rule = RoutingRuleFactory(name="Everyone", reps=reps)
    return reps, rule


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Every rep is a user with a password; the default hasher would spend most of the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
