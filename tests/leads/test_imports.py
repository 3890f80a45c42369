import copy
import csv
import io
import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.db.models import Count

from leads import services
from leads.imports import (
    ImportFileError,
    MappingError,
    leads_import_csv,
    load_mapping,
    parse_mapping,
)
from leads.imports import service as import_service
from leads.imports.rows import event_external_id
from leads.models import Account, EngagementEvent, Lead
from tests.factories import LeadFactory

REPO_ROOT = Path(settings.BASE_DIR)
EXAMPLE_MAPPING = REPO_ROOT / "docs" / "examples" / "leads-csv-mapping.json"
EXAMPLE_RULESET = REPO_ROOT / "docs" / "examples" / "leads-csv-ruleset.json"

HEADER = [
    "Id",
    "Email",
    "Source",
    "Do Not Email",
    "Visits",
    "Seconds",
    "Last Activity",
    "Occupation",
    "Score",
]
MAPPING = {
    "version": 1,
    "identity": {"external_id": "Id", "source_system": "test-crm"},
    "null_values": ["", "Select"],
    "fields": {
        "first_touch_source": {"column": "Source", "values": {"google": "Google"}},
        "email_opt_out": {"column": "Do Not Email", "values": {"Yes": True, "No": False}},
    },
    "custom_attributes": {"occupation": "Occupation"},
    "ignore_columns": ["Email"],
    "events": [
        {
            "type": "count",
            "column": "Visits",
            "kind": "website_visit",
            "cap": 5,
            "properties": {"seconds_on_site": {"column": "Seconds", "type": "number"}},
        },
        {
            "type": "category",
            "column": "Last Activity",
            "kinds": {
                "Email Opened": "email_open",
                "Olark Chat Conversation": "chat",
                "Modified": None,
            },
        },
    ],
    "timeline": {"days": 30, "end": "2026-06-01"},
}
TIMELINE_END = datetime(2026, 6, 1, tzinfo=UTC)


def row(
    id="p-1",
    email="",
    source="Google",
    do_not_email="No",
    visits="2",
    seconds="650",
    last_activity="Email Opened",
    occupation="Working Professional",
    score="15",
):
    return [id, email, source, do_not_email, visits, seconds, last_activity, occupation, score]


def write_csv(tmp_path, rows, header=HEADER, name="leads.csv"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(tmp_path, rows, mapping=None, header=HEADER, **options):
    path = write_csv(tmp_path, rows, header=header)
    return leads_import_csv(path=path, mapping=parse_mapping(mapping or MAPPING), **options)


def mapping_with(**changes):
    mapping = copy.deepcopy(MAPPING)
    mapping.update(changes)
    return mapping


def mapping_problems(data):
    with pytest.raises(MappingError) as raised:
        parse_mapping(data)
    return raised.value.extra["fields"]


# Mapping validation


def test_mapping_example_file_is_valid():
    mapping = load_mapping(EXAMPLE_MAPPING)

    assert mapping.source_system == "x-education"
    assert mapping.external_id_column == "Prospect ID"
    assert [event.column for event in mapping.events] == [
        "TotalVisits",
        "Total Time Spent on Website",
        "Lead Origin",
        "Last Activity",
        "Last Notable Activity",
    ]


def test_mapping_missing_identity_names_key_and_fix():
    problems = mapping_problems({"fields": {}})

    assert problems == {
        "identity": [
            'missing or not an object; use {"email": "Email"} or {"external_id": "Prospect ID", "source_system": "crm"}.'
        ]
    }


def test_mapping_external_id_needs_source_system():
    problems = mapping_problems({"identity": {"external_id": "Id"}})

    assert problems["identity.source_system"] == [
        'missing; an external id is unique only within its source system, so name it, such as "x-education".'
    ]


def test_mapping_unknown_key_suggests_spelling():
    problems = mapping_problems(mapping_with(feilds={}))

    assert problems == {"feilds": ["unknown key; did you mean 'fields'; remove it."]}


def test_mapping_unknown_lead_field_rejected():
    mapping = mapping_with(fields={"emial_opt_out": "Do Not Email"})

    problems = mapping_problems(mapping)

    assert list(problems) == ["fields.emial_opt_out"]
    assert problems["fields.emial_opt_out"][0].startswith(
        "not a lead field; did you mean 'email_opt_out'. Lead fields: call_opt_out, city,"
    )


def test_mapping_identity_field_under_fields_points_to_identity():
    problems = mapping_problems(mapping_with(fields={"email": "Email"}))

    assert problems["fields.email"][0].startswith("not a lead field; set it under identity.")


def test_mapping_count_event_without_cap_rejected():
    mapping = copy.deepcopy(MAPPING)
    del mapping["events"][0]["cap"]

    problems = mapping_problems(mapping)

    assert problems == {
        "events[0].cap": [
            "missing; set the maximum number of events one row may create, a whole number from 1 to 1000, such as 20."
        ]
    }


def test_mapping_unknown_event_kind_rejected():
    mapping = copy.deepcopy(MAPPING)
    mapping["events"][1]["kinds"]["Email Opened"] = "email_opened"

    problems = mapping_problems(mapping)

    assert list(problems) == ["events[1].kinds.Email Opened"]
    assert problems["events[1].kinds.Email Opened"][0].startswith(
        "'email_opened' is not an event kind; use one of page_view, form_submit,"
    )
    assert problems["events[1].kinds.Email Opened"][0].endswith(", or null for no event.")


def test_mapping_unknown_event_type_rejected():
    mapping = copy.deepcopy(MAPPING)
    mapping["events"][0]["type"] = "counter"

    problems = mapping_problems(mapping)

    assert problems == {
        "events[0].type": [
            '\'counter\' is not an event rule type; use "count" (a number of events) or "category" (one event, kind from a value map).'
        ]
    }


def test_mapping_boolean_value_map_target_must_be_boolean():
    mapping = mapping_with(
        fields={"email_opt_out": {"column": "Do Not Email", "values": {"Yes": "maybe"}}}
    )

    problems = mapping_problems(mapping)

    assert problems == {
        "fields.email_opt_out.values.Yes": [
            "'maybe' is invalid for type boolean; use true, false or null."
        ]
    }


def test_mapping_lists_every_problem_at_once():
    mapping = mapping_with(identity={"external_id": "Id"}, timeline={"days": 0})

    with pytest.raises(MappingError) as raised:
        parse_mapping(mapping)

    assert set(raised.value.extra["fields"]) == {"identity.source_system", "timeline.days"}
    assert raised.value.message.startswith(
        "The mapping is invalid. identity.source_system: missing;"
    )


def test_mapping_file_with_bad_json_names_line(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text('{"identity": {"email": "Email"},\n "fields": {,}}')

    with pytest.raises(MappingError) as raised:
        load_mapping(path)

    assert raised.value.message == (
        "mapping.json is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 2, column 13; fix the syntax."
    )


def test_command_reports_malformed_mapping(tmp_path):
    csv_path = write_csv(tmp_path, [row()])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(mapping_with(identity={"external_id": "Id"})))

    with pytest.raises(CommandError) as raised:
        call_command("import_leads", str(csv_path), "--mapping", str(mapping_path))

    assert str(raised.value) == (
        "mapping.json: The mapping is invalid. identity.source_system: missing; an external id "
        'is unique only within its source system, so name it, such as "x-education".'
    )


@pytest.mark.django_db
def test_header_missing_column_suggests_spelling(tmp_path):
    header = [name if name != "Visits" else "Visit" for name in HEADER]

    with pytest.raises(ImportFileError) as raised:
        run_import(tmp_path, [row()], header=header)

    assert raised.value.message == 'Column "Visits" is not in the header; did you mean "Visit"?'
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_header_repeated_column_rejected(tmp_path):
    header = [*HEADER, "Source"]

    with pytest.raises(ImportFileError) as raised:
        run_import(tmp_path, [[*row(), "x"]], header=header)

    assert raised.value.message == (
        'Column "Source" appears twice in the header (columns 3 and 10); rename one.'
    )


@pytest.mark.django_db
def test_file_not_utf8_rejected_before_any_row(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\np-1,,M\xfcnchen,No,1,0,,,1\n")

    with pytest.raises(ImportFileError) as raised:
        leads_import_csv(path=path, mapping=parse_mapping(MAPPING))

    assert raised.value.message.startswith(
        "latin1.csv is not valid UTF-8 at byte 81; save it as UTF-8"
    )
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_csv_error_mid_file_stops_after_stored_batches(tmp_path):
    rows = [row(id="p-1"), row(id="p-2", occupation="x" * 1_000_001), row(id="p-3")]

    with pytest.raises(ImportFileError) as raised:
        run_import(tmp_path, rows, batch_size=1)

    assert raised.value.message == (
        "leads.csv row 3 is not valid CSV: field larger than field limit (1000000); check that row for an unclosed quote."
    )
    assert list(Lead.objects.values_list("external_id", flat=True)) == ["p-1"]


# Fields, value maps, null values and custom attributes


@pytest.mark.django_db
def test_value_maps_convert_booleans_and_text(tmp_path):
    run_import(
        tmp_path,
        [row(id="p-1", source="google", do_not_email="Yes"), row(id="p-2", do_not_email="no")],
    )

    first = Lead.objects.get(external_id="p-1")
    second = Lead.objects.get(external_id="p-2")
    assert first.source_system == "test-crm"
    assert first.first_touch_source == "Google"
    assert first.email_opt_out is True
    assert second.email_opt_out is False


@pytest.mark.django_db
def test_null_values_leave_fields_and_attributes_unset(tmp_path):
    run_import(tmp_path, [row(source="Select", occupation="", do_not_email="")])

    lead = Lead.objects.get()
    assert lead.first_touch_source == ""
    assert lead.email_opt_out is False
    assert "occupation" not in lead.custom_attributes


@pytest.mark.django_db
def test_null_values_keep_stored_values_on_update(tmp_path):
    run_import(tmp_path, [row(source="Google", occupation="Student")])

    run_import(tmp_path, [row(source="Select", occupation="")])

    lead = Lead.objects.get()
    assert lead.first_touch_source == "Google"
    assert lead.custom_attributes["occupation"] == "Student"


@pytest.mark.django_db
def test_unmapped_columns_kept_as_typed_attributes(tmp_path):
    header = [*HEADER, "Page Views Per Visit", "Lead Number", "Tags"]

    run_import(tmp_path, [[*row(score="15"), "2.5", "007", "Ringing"]], header=header)

    lead = Lead.objects.get()
    assert lead.custom_attributes == {
        "occupation": "Working Professional",
        "score": 15,
        "page_views_per_visit": 2.5,
        "lead_number": "007",
        "tags": "Ringing",
    }


@pytest.mark.django_db
def test_unmapped_columns_ignored_when_asked(tmp_path):
    report = run_import(tmp_path, [row()], mapping=mapping_with(unmapped_columns="ignore"))

    lead = Lead.objects.get()
    assert lead.custom_attributes == {"occupation": "Working Professional"}
    assert report.ignored_columns == ["Email", "Score"]


@pytest.mark.django_db
def test_unmapped_column_clashing_with_attribute_rejected(tmp_path):
    mapping = mapping_with(custom_attributes={"score": "Occupation"})

    with pytest.raises(ImportFileError) as raised:
        run_import(tmp_path, [row()], mapping=mapping)

    assert raised.value.message == (
        'Column "Score" would be kept as custom attribute "score", which custom_attributes '
        "already uses; map the column explicitly or list it in ignore_columns."
    )


# Events


@pytest.mark.django_db
def test_count_column_creates_that_many_events(tmp_path):
    run_import(tmp_path, [row(visits="3", last_activity="Modified")])

    events = list(EngagementEvent.objects.order_by("properties__ordinal"))
    assert [event.kind for event in events] == ["website_visit"] * 3
    assert [event.properties for event in events] == [
        {"column": "Visits", "ordinal": ordinal, "seconds_on_site": 650} for ordinal in (1, 2, 3)
    ]
    assert {event.source for event in events} == {"csv-import"}


@pytest.mark.django_db
def test_count_column_capped(tmp_path):
    report = run_import(tmp_path, [row(visits="251", last_activity="Modified")])

    assert EngagementEvent.objects.count() == 5
    assert report.rows[0].events_created == 5


@pytest.mark.django_db
def test_count_column_with_unit_rounds_down(tmp_path):
    mapping = copy.deepcopy(MAPPING)
    mapping["events"] = [
        {
            "type": "count",
            "column": "Seconds",
            "kind": "page_view",
            "unit": 300,
            "cap": 8,
            "asset": "5 minutes on site",
        }
    ]

    run_import(tmp_path, [row(seconds="899")], mapping=mapping)

    assert list(EngagementEvent.objects.values_list("kind", "asset")) == [
        ("page_view", "5 minutes on site"),
        ("page_view", "5 minutes on site"),
    ]


@pytest.mark.django_db
def test_category_column_creates_one_event_of_mapped_kind(tmp_path):
    run_import(tmp_path, [row(visits="0", last_activity="Olark Chat Conversation")])

    event = EngagementEvent.objects.get()
    assert event.kind == "chat"
    assert event.properties == {"column": "Last Activity", "value": "Olark Chat Conversation"}


@pytest.mark.django_db
def test_category_value_mapped_to_null_creates_no_event(tmp_path):
    report = run_import(tmp_path, [row(visits="0", last_activity="Modified")])

    assert EngagementEvent.objects.count() == 0
    assert report.rows[0].messages == []


@pytest.mark.django_db
def test_category_value_without_kind_stores_lead_with_warning(tmp_path):
    report = run_import(tmp_path, [row(visits="0", last_activity="SMS Sent")])

    assert Lead.objects.count() == 1
    assert EngagementEvent.objects.count() == 0
    assert report.rows[0].status == "created"
    assert report.rows[0].messages == [
        "Column \"Last Activity\", value 'SMS Sent': no event kind; add it to events[1].kinds or "
        "set events[1].default_kind. No event was created for it."
    ]


@pytest.mark.django_db
def test_category_default_kind_used_for_unlisted_values(tmp_path):
    mapping = copy.deepcopy(MAPPING)
    mapping["events"][1]["default_kind"] = "other"

    run_import(tmp_path, [row(visits="0", last_activity="SMS Sent")], mapping=mapping)

    assert EngagementEvent.objects.get().kind == "other"


@pytest.mark.django_db
def test_event_times_derived_from_identity_within_timeline(tmp_path):
    run_import(tmp_path, [row(id="p-1", visits="4"), row(id="p-2", visits="4")])

    for lead in Lead.objects.all():
        visits = lead.events.filter(kind="website_visit")
        last = lead.events.get(kind="email_open")
        assert all(
            TIMELINE_END - timedelta(days=30) <= e.occurred_at <= last.occurred_at for e in visits
        )
        assert last.occurred_at <= TIMELINE_END
    first_times = set(
        EngagementEvent.objects.filter(lead__external_id="p-1").values_list(
            "occurred_at", flat=True
        )
    )
    second_times = set(
        EngagementEvent.objects.filter(lead__external_id="p-2").values_list(
            "occurred_at", flat=True
        )
    )
    assert first_times.isdisjoint(second_times)


@pytest.mark.django_db
def test_event_external_ids_follow_identity_column_and_ordinal(tmp_path):
    run_import(tmp_path, [row(id="p-1", visits="2")])

    assert set(EngagementEvent.objects.values_list("external_id", flat=True)) == {
        event_external_id("test-crm:p-1", "Visits", "1"),
        event_external_id("test-crm:p-1", "Visits", "2"),
        event_external_id("test-crm:p-1", "Last Activity", "email opened"),
    }


# Re-import


@pytest.mark.django_db
def test_reimport_creates_no_duplicates(tmp_path):
    rows = [row(id="p-1", visits="3"), row(id="p-2", visits="1")]
    run_import(tmp_path, rows)
    before = sorted(EngagementEvent.objects.values_list("external_id", "occurred_at", "kind"))

    report = run_import(tmp_path, rows)

    assert Lead.objects.count() == 2
    assert (
        sorted(EngagementEvent.objects.values_list("external_id", "occurred_at", "kind")) == before
    )
    assert report.counts == {"created": 0, "updated": 2, "error": 0}
    assert report.events_created == 0
    assert report.events_existing == 6
    assert [r.changed_fields for r in report.rows] == [[], []]


@pytest.mark.django_db
def test_reimport_updates_changed_values_and_adds_new_events(tmp_path):
    run_import(tmp_path, [row(visits="2", occupation="Student")])

    report = run_import(
        tmp_path,
        [
            row(
                visits="4",
                occupation="Working Professional",
                last_activity="Olark Chat Conversation",
            )
        ],
    )

    lead = Lead.objects.get()
    assert lead.custom_attributes["occupation"] == "Working Professional"
    assert report.rows[0].changed_fields == ["custom_attributes"]
    assert report.rows[0].events_created == 3
    assert Counter(lead.events.values_list("kind", flat=True)) == {
        "website_visit": 4,
        "email_open": 1,
        "chat": 1,
    }


@pytest.mark.django_db
def test_reimport_by_email_updates_existing_lead(tmp_path):
    existing = LeadFactory(email="dana@precision-parts.example", first_touch_source="webinar")
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=[])

    report = run_import(
        tmp_path,
        [row(id="", email="Dana@Precision-Parts.example", source="Google")],
        mapping=mapping,
    )

    existing.refresh_from_db()
    assert report.rows[0].status == "updated"
    assert report.rows[0].lead_id == existing.pk
    assert existing.first_touch_source == "Google"
    assert Lead.objects.count() == 1


# Bad rows, repeated identities, accounts


@pytest.mark.django_db
def test_bad_rows_reported_and_good_rows_stored(tmp_path):
    rows = [
        row(id="p-1"),
        row(id="p-2", do_not_email="Maybe"),
        row(id="p-3", visits="many"),
        row(id=""),
        row(id="p-5"),
    ]

    report = run_import(tmp_path, rows)

    assert set(Lead.objects.values_list("external_id", flat=True)) == {"p-1", "p-5"}
    assert [(r.row_number, r.identity, r.status) for r in report.rows] == [
        (2, "test-crm:p-1", "created"),
        (3, "test-crm:p-2", "error"),
        (4, "test-crm:p-3", "error"),
        (5, "", "error"),
        (6, "test-crm:p-5", "created"),
    ]
    assert report.rows[1].messages == [
        "Column \"Do Not Email\", value 'Maybe': not in the value map ('no', 'yes'); add it to "
        "fields.email_opt_out.values or to null_values."
    ]
    assert report.rows[2].messages == [
        "Column \"Visits\", value 'many': not a count; use a number of 0 or more, or add the "
        "value to null_values."
    ]
    assert report.rows[3].messages == [
        'Column "Id" is empty; every row needs the value that identifies its lead.'
    ]
    assert EngagementEvent.objects.filter(lead__external_id="p-2").count() == 0


@pytest.mark.django_db
def test_invalid_email_reported_with_column(tmp_path):
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=[])

    report = run_import(tmp_path, [row(email="dana@")], mapping=mapping)

    assert report.rows[0].status == "error"
    assert report.rows[0].identity == "dana@"
    assert report.rows[0].messages == [
        "Column \"Email\", value 'dana@': 'dana@' is not a valid e-mail address, such as name@example.com."
    ]
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_text_too_long_reported_with_column(tmp_path):
    report = run_import(tmp_path, [row(source="x" * 101)])

    assert report.rows[0].status == "error"
    assert report.rows[0].messages == [
        f"Column \"Source\", value '{'x' * 101}': 101 characters is longer than the maximum of 100; shorten the value."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [500, 1])
def test_repeated_identity_in_file_is_one_lead(tmp_path, batch_size):
    rows = [
        row(id="p-1", source="Google", visits="2"),
        row(id="p-1", source="Reference", visits="3"),
    ]

    report = run_import(tmp_path, rows, batch_size=batch_size)

    lead = Lead.objects.get()
    assert lead.first_touch_source == "Reference"
    assert [(r.status, r.lead_id) for r in report.rows] == [
        ("created", lead.pk),
        ("updated", lead.pk),
    ]
    assert report.rows[1].messages == [
        "Same lead as row 2; this row's values were applied on top of it."
    ]
    assert lead.events.filter(kind="website_visit").count() == 3
    assert lead.events.filter(kind="email_open").count() == 1


@pytest.mark.django_db
def test_free_mail_leads_get_no_account(tmp_path):
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=["Id"])
    rows = [
        row(email="dana@gmail.com"),
        row(email="lee@precision-parts.example"),
        row(email="kim@precision-parts.example"),
    ]

    report = run_import(tmp_path, rows, mapping=mapping)

    assert Lead.objects.get(email="dana@gmail.com").account is None
    account = Account.objects.get()
    assert account.domain == "precision-parts.example"
    assert set(account.leads.values_list("email", flat=True)) == {
        "lee@precision-parts.example",
        "kim@precision-parts.example",
    }
    assert report.accounts_created == 1


@pytest.mark.django_db
def test_database_error_isolated_to_its_row(tmp_path, monkeypatch):
    write_batch = import_service._write_batch

    def failing_write_batch(rows):
        if len(rows) > 1 or rows[0].lead.external_id == "p-2":
            raise DatabaseError("value out of range")
        return write_batch(rows)

    monkeypatch.setattr(import_service, "_write_batch", failing_write_batch)

    report = run_import(tmp_path, [row(id="p-1"), row(id="p-2"), row(id="p-3")])

    assert set(Lead.objects.values_list("external_id", flat=True)) == {"p-1", "p-3"}
    assert [r.status for r in report.rows] == ["created", "error", "created"]
    assert report.rows[1].messages == ["The database rejected the row: value out of range"]


# Dry run, scoring, command


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path):
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=["Id"])

    report = run_import(
        tmp_path,
        [row(email="lee@precision-parts.example", visits="3")],
        mapping=mapping,
        dry_run=True,
    )

    assert report.counts == {"created": 1, "updated": 0, "error": 0}
    assert report.events_created == 4
    assert Lead.objects.count() == 0
    assert EngagementEvent.objects.count() == 0
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_dry_run_enqueues_no_scoring(tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    monkeypatch.setattr(services, "enqueue_rescore", calls.append)

    with django_capture_on_commit_callbacks(execute=True):
        run_import(tmp_path, [row()], dry_run=True)

    assert calls == []


@pytest.mark.django_db
def test_import_marks_stale_and_enqueues_once_per_batch(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr(services, "enqueue_rescore", calls.append)

    with django_capture_on_commit_callbacks(execute=True):
        run_import(tmp_path, [row(id=f"p-{n}") for n in range(5)], batch_size=2)

    ids = list(Lead.objects.order_by("external_id").values_list("pk", flat=True))
    assert calls == [ids[0:2], ids[2:4], ids[4:5]]
    assert Lead.objects.filter(score_stale=True).count() == 5


@pytest.mark.django_db
def test_command_prints_summary_and_writes_report(tmp_path):
    csv_path = write_csv(tmp_path, [row(id="p-1"), row(id="p-2", do_not_email="Maybe")])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    report_path = tmp_path / "report.csv"
    out = io.StringIO()

    call_command(
        "import_leads",
        str(csv_path),
        "--mapping",
        str(mapping_path),
        "--report",
        str(report_path),
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Imported 2 rows from leads.csv in ")
    assert lines[0].endswith(" s: 1 created, 0 updated, 1 errors.")
    assert lines[1] == "Events: 3 created, 0 already stored. Accounts created: 0."
    assert lines[2] == "Columns not imported: Email."
    assert lines[3].startswith(
        "Row 3 (test-crm:p-2, error): Column \"Do Not Email\", value 'Maybe'"
    )
    with report_path.open(newline="") as file:
        report_rows = list(csv.DictReader(file))
    assert [(r["row"], r["identity"], r["status"], r["events_created"]) for r in report_rows] == [
        ("2", "test-crm:p-1", "created", "3"),
        ("3", "test-crm:p-2", "error", "0"),
    ]
    assert report_rows[1]["messages"].startswith("Column \"Do Not Email\", value 'Maybe'")


@pytest.mark.django_db
def test_command_unwritable_report_stops_before_import(tmp_path):
    csv_path = write_csv(tmp_path, [row(id="p-1")])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    report_path = tmp_path / "missing-dir" / "report.csv"

    with pytest.raises(CommandError) as raised:
        call_command(
            "import_leads",
            str(csv_path),
            "--mapping",
            str(mapping_path),
            "--report",
            str(report_path),
            stdout=io.StringIO(),
        )

    assert str(raised.value) == (
        f"Cannot write the report to {report_path}: No such file or directory. Nothing was "
        "imported; give --report a path in a writable directory."
    )
    assert Lead.objects.count() == 0
    assert EngagementEvent.objects.count() == 0
    assert not report_path.parent.exists()


@pytest.mark.django_db
def test_command_report_check_keeps_existing_file(tmp_path):
    csv_path = write_csv(tmp_path, [row(id="p-1")])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    report_path = tmp_path / "report.csv"
    report_path.write_text("old report\n")

    call_command(
        "import_leads",
        str(csv_path),
        "--mapping",
        str(mapping_path),
        "--report",
        str(report_path),
        "--dry-run",
        stdout=io.StringIO(),
    )

    assert report_path.read_text().startswith("row,")


@pytest.mark.django_db
def test_command_report_write_failure_after_import(tmp_path, monkeypatch):
    csv_path = write_csv(tmp_path, [row(id="p-1")])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    report_path = tmp_path / "report.csv"
    out = io.StringIO()

    def disk_full(self, file):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(import_service.ImportReport, "write_csv", disk_full)

    with pytest.raises(CommandError) as raised:
        call_command(
            "import_leads",
            str(csv_path),
            "--mapping",
            str(mapping_path),
            "--report",
            str(report_path),
            stdout=out,
        )

    assert str(raised.value) == (
        f"The import finished, but the report could not be written to {report_path}: No "
        "space left on device. Import the file again with a writable --report path; a "
        "re-import updates the same leads and adds no duplicate events."
    )
    assert out.getvalue().startswith("Imported 1 rows from leads.csv in ")
    assert "Report written to" not in out.getvalue()
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_command_dry_run_says_nothing_written(tmp_path):
    csv_path = write_csv(tmp_path, [row()])
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING))
    out = io.StringIO()

    call_command(
        "import_leads", str(csv_path), "--mapping", str(mapping_path), "--dry-run", stdout=out
    )

    assert out.getvalue().startswith("Dry run, nothing was written. Would have imported 1 rows")
    assert Lead.objects.count() == 0


# The real Leads.csv


def data_dir():
    return Path(
        os.environ.get("LEADFLOW_DATA_DIR") or Path(settings.BASE_DIR).parent / "shared" / "data"
    )


LEADS_CSV = data_dir() / "lead-scoring" / "Leads.csv"
needs_leads_csv = pytest.mark.skipif(
    not LEADS_CSV.exists(), reason=f"{LEADS_CSV} not found; set LEADFLOW_DATA_DIR"
)


@pytest.mark.slow
@needs_leads_csv
@pytest.mark.django_db
def test_leads_csv_imports_every_row():
    report = leads_import_csv(path=LEADS_CSV, mapping=load_mapping(EXAMPLE_MAPPING))

    assert report.counts == {"created": 9240, "updated": 0, "error": 0}
    assert len(report.rows) == 9240
    assert report.rows_with_messages == 0
    assert Lead.objects.filter(source_system="x-education").count() == 9240
    assert dict(EngagementEvent.objects.values_list("kind").annotate(count=Count("id"))) == {
        "website_visit": 30548,
        "page_view": 12747,
        "email_open": 6264,
        "other": 5443,
        "chat": 1156,
        "form_submit": 6150,
        "email_click": 447,
        "unsubscribe": 112,
        "phone_call": 44,
        "trade_show_visit": 1,
    }
    assert report.events_created == 62912
    lead = Lead.objects.get(external_id="2a272436-5132-4136-86fa-dcc88c88f482")
    assert lead.first_touch_source == "Organic Search"
    assert lead.first_touch_medium == "API"
    assert lead.country == "India"
    assert lead.region == "asia_pacific"
    assert lead.custom_attributes["converted"] is False
    assert lead.custom_attributes["occupation"] == "Unemployed"
    assert lead.custom_attributes["tags"] == "Ringing"
    assert Lead.objects.filter(email_opt_out=True).count() == 734
    assert Lead.objects.filter(custom_attributes__converted=True).count() == 3561


@pytest.mark.slow
@needs_leads_csv
@pytest.mark.django_db
def test_leads_csv_scores_into_mql_queue():
    scoring_services = pytest.importorskip("scoring.services")
    if not hasattr(scoring_services, "rescore_all"):
        pytest.skip("scoring.services has no rescore_all yet")
    call_command(
        "import_leads", str(LEADS_CSV), "--mapping", str(EXAMPLE_MAPPING), stdout=io.StringIO()
    )

    call_command("load_ruleset", str(EXAMPLE_RULESET), "--publish", stdout=io.StringIO())
    call_command("rescore", stdout=io.StringIO())

    leads = Lead.objects.filter(source_system="x-education")
    mql = leads.filter(status="mql")
    rest = leads.exclude(status="mql")
    mql_share = mql.count() / leads.count()
    mql_conversion = mql.filter(custom_attributes__converted=True).count() / mql.count()
    rest_conversion = rest.filter(custom_attributes__converted=True).count() / rest.count()
    assert 0.25 <= mql_share <= 0.40
    assert mql_conversion >= 0.75
    assert rest_conversion <= 0.25
