import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER
from leads.demo import DEMO_PASSWORD, DEMO_SOURCE_SYSTEM, demo_data_generate
from leads.demo.generator import _Generator, _PlannedLead
from leads.models import Account, EngagementEvent, Lead
from leads.normalize import is_free_mail
from tests.factories import AccountFactory, LeadFactory

SMALL = ["--accounts", "12", "--leads", "40", "--events", "300"]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def seed_demo(*args):
    out = io.StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash the seven demo passwords with a fast hasher; the default takes a few hundred milliseconds each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_seed_demo_creates_requested_counts():
    output = seed_demo()

    assert Account.objects.count() == 12
    assert Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM).count() == 40
    assert EngagementEvent.objects.count() == 300
    assert "Created 12 accounts, 40 leads and 300 engagement events in " in output
    assert "Scored all leads in " in output
    assert "Handed off " in output
    assert output.endswith(
        "Demo logins (password for all: leadflow-demo):\n"
        "  marketer       marketing\n"
        "  rep            sales\n"
        "  manager        sales_manager\n"
        "  revops         revops\n"
        "  rep.emea       sales\n"
        "  rep.americas   sales\n"
        "  rep.apac       sales\n"
    )


@pytest.mark.django_db
def test_seed_demo_second_run_only_prints_logins():
    seed_demo()
    emails = set(Lead.objects.values_list("email", flat=True))

    output = seed_demo()

    assert output.startswith(
        "Demo data already exists; use --reset to rebuild it.\n"
        "Demo handoffs already exist; use --reset to rebuild them.\n"
        "Demo logins"
    )
    assert set(Lead.objects.values_list("email", flat=True)) == emails
    assert Account.objects.count() == 12
    assert EngagementEvent.objects.count() == 300


@pytest.mark.django_db
def test_seed_demo_reset_rebuilds_only_demo_data():
    other_lead = LeadFactory(account=AccountFactory(domain="customer.example"))
    seed_demo()
    emails = set(
        Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM).values_list("email", flat=True)
    )

    output = seed_demo("--reset")

    assert output.startswith("Deleted 40 demo leads, 300 events and 12 accounts.")
    assert (
        set(Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM).values_list("email", flat=True))
        == emails
    )
    assert Lead.objects.filter(pk=other_lead.pk).exists()
    assert Account.objects.filter(domain="customer.example").exists()
    assert Account.objects.count() == 13
    assert EngagementEvent.objects.count() == 300


@pytest.mark.django_db
def test_seed_demo_users_have_roles_and_password():
    seed_demo()

    roles = {
        user.username: set(user.groups.values_list("name", flat=True))
        for user in User.objects.all()
    }
    assert roles == {
        "marketer": {MARKETING},
        "rep": {SALES},
        "manager": {SALES_MANAGER},
        "revops": {REVOPS},
        "rep.emea": {SALES},
        "rep.americas": {SALES},
        "rep.apac": {SALES},
    }
    assert all(user.check_password(DEMO_PASSWORD) for user in User.objects.all())
    assert set(User.objects.filter(is_superuser=True).values_list("username", flat=True)) == {
        "revops"
    }


@pytest.mark.django_db
def test_seed_demo_scores_every_lead():
    seed_demo()

    demo_leads = Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM)
    assert demo_leads.filter(score_stale=True).count() == 0
    assert demo_leads.filter(ruleset_version__isnull=True).count() == 0
    assert demo_leads.filter(scored_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_seed_demo_rejects_negative_count():
    with pytest.raises(CommandError) as raised:
        call_command("seed_demo", "--leads", "-1")

    assert str(raised.value) == "--leads -1 is invalid; use 0 or more."

    assert Lead.objects.count() == 0
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_demo_free_mail_leads_have_no_account():
    demo_data_generate(accounts=12, leads=60, events=300, now=NOW)

    leads = list(Lead.objects.select_related("account"))
    free_mail = [lead for lead in leads if is_free_mail(lead.email_domain)]
    assert free_mail
    assert all(lead.account is None for lead in free_mail)
    assert all(lead.account.domain == lead.email_domain for lead in leads if lead.account)
    assert {lead.email_domain.rsplit(".", 1)[1] for lead in leads if lead.account} == {"example"}


@pytest.mark.django_db
def test_demo_events_fall_in_last_six_months():
    demo_data_generate(accounts=12, leads=40, events=300, now=NOW)

    times = list(EngagementEvent.objects.values_list("occurred_at", flat=True))
    assert min(times) >= NOW - timedelta(days=182)
    assert max(times) <= NOW
    assert all(lead.created_at < NOW for lead in Lead.objects.all())


@pytest.mark.postgres
@pytest.mark.django_db
def test_demo_generate_refreshes_planner_statistics():
    demo_data_generate(accounts=12, leads=40, events=300, now=NOW)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s) ORDER BY relname",
            [["leads_account", "leads_engagementevent", "leads_lead"]],
        )
        rows = cursor.fetchall()

    assert rows == [("leads_account", 12), ("leads_engagementevent", 300), ("leads_lead", 40)]


@pytest.mark.django_db
def test_demo_same_seed_gives_same_data():
    def snapshot():
        leads = list(
            Lead.objects.order_by("external_id").values_list(
                "email", "job_title", "account__domain"
            )
        )
        events = list(
            EngagementEvent.objects.order_by("external_id").values_list(
                "external_id", "kind", "url", "occurred_at"
            )
        )
        return leads, events

    demo_data_generate(accounts=12, leads=40, events=300, now=NOW, seed=7)
    first = snapshot()
    Lead.objects.all().delete()
    Account.objects.all().delete()

    demo_data_generate(accounts=12, leads=40, events=300, now=NOW, seed=7)

    assert snapshot() == first


@pytest.mark.django_db
def test_demo_accounts_cover_segments_and_facilities():
    demo_data_generate(accounts=300, leads=0, events=0, now=NOW)

    segments = set(Account.objects.values_list("segment", flat=True))
    facilities = set(Account.objects.values_list("facility_type", flat=True))
    assert len(segments) == 12
    assert facilities == {"plant", "job_shop", "headquarters", "distribution_centre", "rd_lab"}
    assert Account.objects.filter(employee_count__isnull=True).count() == 0
    assert Account.objects.filter(annual_revenue_usd__isnull=True).count() == 0


def test_demo_event_counts_add_up_exactly():
    generator = _Generator(random.Random(3), NOW, seed=3)
    plans = [
        _PlannedLead(lead=Lead(), behaviour=behaviour, country=None, segment=None, products=[])
        for behaviour in ["cold"] * 30 + ["warm"] * 10 + ["hot"] * 5 + ["student"] * 5
    ]

    counts = generator.event_counts(plans, 1003)

    assert sum(counts) == 1003
    assert min(counts) >= 1
    hot = sum(counts[40:45]) / 5
    cold = sum(counts[:30]) / 30
    assert hot > 3 * cold
