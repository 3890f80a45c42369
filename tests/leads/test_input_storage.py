"""Lead and event input that PostgreSQL could not store is rejected, naming the field."""

from datetime import UTC, datetime

import pytest

from leads.inputs import (
    InputError,
    LeadInput,
    json_depth,
    parse_event,
    parse_lead,
    unstorable_character,
)
from leads.models import Account
from leads.services import lead_upsert
from tests.leads.test_imports import mapping_problems, mapping_with, row, run_import


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("city", "Ulm\x00", "Contains a NUL character; remove it."),
        ("job_title", "Head \ud800", "Contains an unpaired surrogate character; remove it."),
        ("custom_attributes", {"k\x00": 1}, "Contains a NUL character; remove it."),
    ],
)
def test_lead_input_rejects_unstorable_characters(field, value, message):
    with pytest.raises(InputError) as raised:
        parse_lead({"email": "dana@cast-works.example", field: value})

    assert raised.value.errors == {field: [message]}


def test_lead_input_email_with_nul_rejected():
    with pytest.raises(InputError) as raised:
        parse_lead({"email": "dana\x00@cast-works.example"})

    assert list(raised.value.errors) == ["email"]


def test_event_time_with_large_offset_stored_in_utc():
    event = parse_event(
        {
            "kind": "page_view",
            "email": "dana@cast-works.example",
            "occurred_at": "2026-02-23T15:47:46+20:52",
        }
    )

    assert event.occurred_at == datetime(2026, 2, 22, 18, 55, 46, tzinfo=UTC)
    assert event.occurred_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("url", "https://x.example/\x00"), ("properties", {"note": "\x00"}), ("lead_id", 2**63)],
)
def test_event_input_rejects_unstorable_values(field, value):
    with pytest.raises(InputError) as raised:
        parse_event(
            {
                "kind": "page_view",
                "email": "dana@cast-works.example",
                "occurred_at": "2026-02-23T15:47:46Z",
                field: value,
            }
        )

    assert list(raised.value.errors) == [field]


@pytest.mark.django_db
def test_email_with_bracket_domain_links_no_account():
    lead, _ = lead_upsert(data=LeadInput(email="dana@[cast-works.example"))

    assert lead.account is None
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_import_long_domain_row_names_account_within_column(tmp_path):
    domain = "b" * 240 + ".com"
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=["Id"])

    report = run_import(tmp_path, [row(id="", email=f"a@{domain}")], mapping=mapping)

    assert [result.status for result in report.rows] == ["created"]
    assert Account.objects.get().name == domain[:200]


def test_mapping_event_url_with_nul_rejected():
    mapping = mapping_with()
    mapping["events"][0]["url"] = "https://x.example/\x00"

    assert mapping_problems(mapping) == {"events[0].url": ["contains a NUL character; remove it."]}


def test_unstorable_character_walks_deep_values():
    value: object = "\x00"
    for _ in range(5000):
        value = [value]

    assert unstorable_character(value) == "a NUL character"


@pytest.mark.parametrize(
    ("value", "depth"), [(1, 0), ({}, 1), ({"a": [1, {"b": 2}]}, 3), ([[[]]], 3)]
)
def test_json_depth_counts_levels(value, depth):
    assert json_depth(value) == depth
