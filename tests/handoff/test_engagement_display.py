"""Handoff pages format engagement scores as the lead pages do: one decimal."""

import pytest
from django.urls import reverse

from handoff import services
from tests.factories import LeadFactory, RepFactory, RoutingRuleFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")


@pytest.fixture
def sent(db):
    rep = RepFactory(capacity=5)
    RoutingRuleFactory(name="Everyone", reps=[rep])
    lead = LeadFactory(status="mql", fit_score=72, engagement_score=48.25)
    return services.handoff_send(lead_ids=[lead.pk]).created[0]


def test_inbox_engagement_one_decimal(client, sent):
    client.force_login(sent.rep.user)

    body = client.get(reverse("handoff:inbox")).content.decode()

    assert '<td class="num">48.3</td>' in body


def test_handoff_detail_engagement_one_decimal(client, sent):
    client.force_login(sent.rep.user)

    body = client.get(reverse("handoff:detail", args=[sent.pk])).content.decode()

    assert "<strong>Engagement 48.3</strong>" in body


def test_lead_handoffs_page_engagement_one_decimal(client, sent, marketer):
    client.force_login(marketer)

    body = client.get(reverse("handoff:lead", args=[sent.lead_id])).content.decode()

    assert "· engagement 48.3" in body
