"""Load the real sales organisation and accounts files, then route 1,000 generated MQLs across them."""

import textwrap
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from handoff import imports
from handoff.models import Handoff, Rep, RoutingRule, Territory
from leads.models import Account

CRM = imports.data_dir() / "crm-sales"
needs_data = pytest.mark.skipif(
    not (CRM / "sales_teams.csv").is_file(),
    reason=f"{CRM} is missing; set LEADFLOW_DATA_DIR to the shared data folder",
)

pytestmark = pytest.mark.usefixtures("handoff_settings")


@needs_data
def test_sales_teams_file_loads_reps_managers_territories(db):
    result = imports.sales_teams_load(path=CRM / "sales_teams.csv")

    assert (result.reps, result.managers, result.territories) == (35, 6, 3)
    assert result.errors == []
    assert sorted(Territory.objects.values_list("code", "timezone")) == [
        ("central", "America/Chicago"),
        ("east", "America/New_York"),
        ("west", "America/Los_Angeles"),
    ]
    assert User.objects.filter(groups__name="sales").count() == 35
    assert User.objects.filter(groups__name="sales_manager").count() == 6
    rep = Rep.objects.get(user__username="hollis.castillo")
    assert rep.manager.username == "onyx.horvat"
    assert rep.home_territory.code == "central"
    assert not rep.user.has_usable_password()


@needs_data
def test_sales_teams_load_twice_updates_in_place(db):
    imports.sales_teams_load(path=CRM / "sales_teams.csv")

    imports.sales_teams_load(path=CRM / "sales_teams.csv", capacity=12)

    assert Rep.objects.count() == 35
    assert set(Rep.objects.values_list("capacity", flat=True)) == {12}
    assert RoutingRule.objects.count() == 4


@needs_data
def test_accounts_file_loads_with_parents(db):
    result = imports.accounts_load(path=CRM / "accounts.csv")

    assert (result.created, result.updated) == (85, 0)
    assert result.errors == []
    acme = Account.objects.get(name="Acme Corporation")
    assert acme.segment == "technology"
    assert acme.annual_revenue_usd == 1_100_040_000
    assert acme.employee_count == 2822
    assert acme.region == "north_america"
    assert acme.subsidiaries.count() == 4


def test_missing_column_named(tmp_path, db):
    path = tmp_path / "sales_teams.csv"
    path.write_text("agent,manager\nA B,C D\n")

    with pytest.raises(
        imports.ImportFileError, match="lacks the column\\(s\\) regional_office, sales_agent"
    ):
        imports.sales_teams_load(path=path)

    assert Rep.objects.count() == 0


def test_row_without_office_reported_others_loaded(tmp_path, db):
    path = tmp_path / "sales_teams.csv"
    path.write_text(
        textwrap.dedent(
            """\
            sales_agent,manager,regional_office
            Ada Lovelace,Grace Hopper,East
            Alan Turing,Grace Hopper,
            """
        )
    )

    result = imports.sales_teams_load(path=path)

    assert result.reps == 1
    assert result.errors == ["Line 3: missing sales_agent or regional_office; skipped."]


def test_command_missing_folder_fails_clearly(tmp_path, db):
    with pytest.raises(CommandError, match=r"sales_teams\.csv does not exist"):
        call_command("load_sales_teams", "--data-dir", str(tmp_path))


@needs_data
@pytest.mark.slow
def test_thousand_mqls_route_within_capacity_and_balanced(db):
    output = StringIO()

    call_command("load_sales_teams", "--route-mqls", "1000", "--capacity", "40", stdout=output)

    handoffs = Handoff.objects.filter(status="pending")
    assert handoffs.count() == 1000
    report = imports.routing_report(list(handoffs.values_list("pk", flat=True)))
    totals = {row["rep"].display_name: row["total"] for row in report["rows"]}
    assert len(totals) == 35
    assert max(totals.values()) <= 40
    assert sum(totals.values()) + report["queued"] == 1000
    for item in report["balance"]:
        assert item["max"] - item["min"] <= 1, item["rule"].name
    by_rule = {item["rule"].name: (item["assigned"], item["pool"]) for item in report["balance"]}
    assert by_rule["North America: every office"][1] == 35
    # Accounts in countries without a region (Korea, Panama) have no rule: they wait in the queue.
    assert report["queued"] == 24
    text = output.getvalue()
    assert "Every rep within capacity: yes" in text
    assert "Round-robin counts within one of each other per rule: yes" in text


@needs_data
def test_low_capacity_overflows_to_queue_never_past_capacity(db):
    imports.sales_teams_load(path=CRM / "sales_teams.csv", capacity=2)
    imports.accounts_load(path=CRM / "accounts.csv")

    generated = imports.mqls_generate_and_route(count=120, interests=["gtx", "mg"])

    report = imports.routing_report(generated.handoff_ids)
    assert all(row["total"] <= 2 for row in report["rows"])
    assert report["within_capacity"] is True
    assert report["queued"] == 120 - sum(row["total"] for row in report["rows"])
