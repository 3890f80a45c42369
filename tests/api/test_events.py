"""POST /api/v1/events/: single and batch ingest, validation, duplicates, lead creation."""

import json

import pytest

from leads.api import events as events_api
from leads.models import Account, EngagementEvent, EventKind, Lead
from tests.api.conftest import OCCURRED_AT, event_body
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory

URL = "/api/v1/events/"
KINDS = ", ".join(EventKind.values)

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post(URL, body, format="json")


def test_single_event_created_with_new_lead(marketer_api):
    response = post(marketer_api, event_body())

    assert response.status_code == 201
    event = EngagementEvent.objects.get()
    lead = Lead.objects.get()
    assert response.json() == {
        "index": 0,
        "status": "created",
        "external_id": "evt-1",
        "id": event.pk,
        "lead_id": lead.pk,
    }
    assert lead.email == "dana.keller@precision-parts.example"
    assert lead.status == Lead.Status.NEW
    assert lead.score_stale is True
    assert event.lead_id == lead.pk
    assert event.kind == "page_view"
    assert event.occurred_at.isoformat() == "2026-03-01T14:30:00+00:00"
    assert event.url == "https://www.precision-parts.example/products/"
    assert event.source == "api"


def test_single_event_keeps_source_sent(marketer_api):
    post(marketer_api, event_body(source="website"))

    assert EngagementEvent.objects.get().source == "website"


def test_single_event_for_existing_lead_by_email(marketer_api):
    lead = LeadFactory(email="dana.keller@precision-parts.example")

    response = post(marketer_api, event_body(email="Dana.Keller@Precision-Parts.example"))

    assert response.status_code == 201
    assert response.json()["lead_id"] == lead.pk
    assert Lead.objects.count() == 1


def test_single_event_for_lead_by_external_id(marketer_api):
    lead = LeadFactory(email=None, source_system="crm:eu", external_id="C-17")

    response = post(
        marketer_api,
        event_body(email=None, lead_external_id="C-17", source_system="crm:eu"),
    )

    assert response.status_code == 201
    assert response.json()["lead_id"] == lead.pk


def test_single_event_duplicate_returns_200(marketer_api):
    first = post(marketer_api, event_body())

    second = post(marketer_api, event_body())

    assert second.status_code == 200
    assert second.json() == {
        "index": 0,
        "status": "duplicate",
        "external_id": "evt-1",
        "lead_id": first.json()["lead_id"],
    }
    assert EngagementEvent.objects.count() == 1


def test_duplicate_with_other_email_creates_no_lead(marketer_api):
    post(marketer_api, event_body())

    response = post(marketer_api, event_body(email="someone.else@another-plant.example"))

    assert response.json()["status"] == "duplicate"
    assert list(Lead.objects.values_list("email", flat=True)) == [
        "dana.keller@precision-parts.example"
    ]
    assert not Account.objects.filter(domain="another-plant.example").exists()


def test_resent_event_without_id_is_duplicate(marketer_api):
    body = event_body(external_id=None)

    first = post(marketer_api, body)
    second = post(marketer_api, body)

    assert first.status_code == 201
    assert first.json()["external_id"].startswith("derived:")
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert EngagementEvent.objects.count() == 1


def test_single_invalid_event_returns_error_shape(marketer_api):
    response = post(marketer_api, event_body(kind="visit"))

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_event",
        "message": f"The event is invalid. kind: 'visit' is not an event kind; use one of {KINDS}.",
        "fields": {"kind": [f"'visit' is not an event kind; use one of {KINDS}."]},
    }
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"kind": None}, {"kind": [f"Missing; use one of {KINDS}."]}),
        ({"kind": "visit"}, {"kind": [f"'visit' is not an event kind; use one of {KINDS}."]}),
        (
            {"occurred_at": None},
            {"occurred_at": ["Missing; send the time the event happened, in ISO 8601."]},
        ),
        (
            {"occurred_at": "yesterday"},
            {
                "occurred_at": [
                    "'yesterday' is not a date and time; use ISO 8601 such as 2026-03-01T14:30:00Z."
                ]
            },
        ),
        (
            {"occurred_at": 1767225600},
            {
                "occurred_at": [
                    "1767225600 is not a date and time; use ISO 8601 such as 2026-03-01T14:30:00Z."
                ]
            },
        ),
        (
            {"occurred_at": "2999-01-01T00:00:00Z"},
            {
                "occurred_at": [
                    "'2999-01-01T00:00:00Z' is in the future; send the time the event happened."
                ]
            },
        ),
        ({"lead_id": -3}, {"lead_id": ["-3 is not a lead id; send a positive integer."]}),
        ({"lead_id": "7"}, {"lead_id": ["'7' is not a lead id; send a positive integer."]}),
        ({"lead_id": True}, {"lead_id": ["True is not a lead id; send a positive integer."]}),
        (
            {"email": "dana-at-precision-parts"},
            {
                "email": [
                    "'dana-at-precision-parts' is not a valid e-mail address, "
                    "such as name@example.com."
                ]
            },
        ),
        (
            {"email": None},
            {
                "email": [
                    "Missing: name the lead by email, lead_id, or lead_external_id "
                    "with source_system."
                ]
            },
        ),
        (
            {"external_id": "x" * 201},
            {
                "external_id": [
                    "201 characters is longer than the maximum of 200; shorten the value."
                ]
            },
        ),
        (
            {"url": "https://example.com/" + "p" * 1990},
            {"url": ["2010 characters is longer than the maximum of 2000; shorten the value."]},
        ),
        (
            {"campaign": {"name": "spring"}},
            {"campaign": ["Expected text, got dict {'name': 'spring'}."]},
        ),
        ({"properties": ["a"]}, {"properties": ["Expected an object, got list."]}),
    ],
    ids=[
        "kind-missing",
        "kind-unknown",
        "occurred-missing",
        "occurred-text",
        "occurred-number",
        "occurred-future",
        "lead-id-negative",
        "lead-id-string",
        "lead-id-boolean",
        "email-invalid",
        "lead-missing",
        "external-id-long",
        "url-long",
        "campaign-object",
        "properties-list",
    ],
)
def test_single_event_field_errors(marketer_api, overrides, fields):
    response = post(marketer_api, event_body(**overrides))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_event"
    assert response.json()["fields"] == fields
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


def test_single_event_unknown_lead_id(marketer_api):
    response = post(marketer_api, event_body(email=None, lead_id=999999))

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_id": ["Lead 999999 does not exist; name the lead by email to create it."]
    }
    assert EngagementEvent.objects.count() == 0


def test_single_event_unknown_lead_external_id(marketer_api):
    response = post(
        marketer_api, event_body(email=None, lead_external_id="C-404", source_system="crm")
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_external_id": [
            "No lead has external_id 'C-404' in source_system 'crm'; "
            "name the lead by email to create it."
        ]
    }


def test_batch_mixed_items_stores_only_valid(marketer_api):
    existing = LeadFactory()

    response = post(
        marketer_api,
        [
            event_body(external_id="evt-1"),
            event_body(external_id="evt-2", kind="visit", email="buyer@new-plant.example"),
            event_body(external_id="evt-3", email=None, lead_id=existing.pk),
            7,
            event_body(external_id="evt-5", email=None, lead_id=999999),
        ],
    )

    assert response.status_code == 200
    created = {event.external_id: event for event in EngagementEvent.objects.all()}
    new_lead = Lead.objects.get(email="dana.keller@precision-parts.example")
    assert response.json() == {
        "results": [
            {
                "index": 0,
                "status": "created",
                "external_id": "evt-1",
                "id": created["evt-1"].pk,
                "lead_id": new_lead.pk,
            },
            {
                "index": 1,
                "status": "error",
                "errors": {"kind": [f"'visit' is not an event kind; use one of {KINDS}."]},
            },
            {
                "index": 2,
                "status": "created",
                "external_id": "evt-3",
                "id": created["evt-3"].pk,
                "lead_id": existing.pk,
            },
            {
                "index": 3,
                "status": "error",
                "errors": {"non_field_errors": ["Expected an event object, got int."]},
            },
            {
                "index": 4,
                "status": "error",
                "external_id": "evt-5",
                "errors": {
                    "lead_id": ["Lead 999999 does not exist; name the lead by email to create it."]
                },
            },
        ],
        "counts": {"total": 5, "created": 2, "duplicate": 0, "error": 3},
    }
    assert sorted(created) == ["evt-1", "evt-3"]
    assert Lead.objects.count() == 2
    assert not Account.objects.filter(domain="new-plant.example").exists()


def test_batch_second_post_reports_duplicates(marketer_api):
    batch = [event_body(external_id="evt-1"), event_body(external_id="evt-2")]
    first = post(marketer_api, batch)

    second = post(marketer_api, batch)

    lead_id = first.json()["results"][0]["lead_id"]
    assert second.status_code == 200
    assert second.json() == {
        "results": [
            {"index": 0, "status": "duplicate", "external_id": "evt-1", "lead_id": lead_id},
            {"index": 1, "status": "duplicate", "external_id": "evt-2", "lead_id": lead_id},
        ],
        "counts": {"total": 2, "created": 0, "duplicate": 2, "error": 0},
    }
    assert EngagementEvent.objects.count() == 2


def test_batch_duplicate_within_request_stored_once(marketer_api):
    response = post(
        marketer_api,
        [event_body(external_id="evt-1"), event_body(external_id="evt-1", kind="form_submit")],
    )

    event = EngagementEvent.objects.get()
    assert [result["status"] for result in response.json()["results"]] == ["created", "duplicate"]
    assert response.json()["results"][1] == {
        "index": 1,
        "status": "duplicate",
        "external_id": "evt-1",
        "lead_id": event.lead_id,
    }
    assert event.kind == "page_view"


def test_batch_duplicate_of_invalid_item_is_stored(marketer_api):
    """An id whose first occurrence failed is not taken, so a later valid item with it is stored."""
    response = post(
        marketer_api,
        [
            event_body(external_id="evt-1", email=None, lead_id=999999),
            event_body(external_id="evt-1"),
        ],
    )

    assert [result["status"] for result in response.json()["results"]] == ["error", "created"]
    assert EngagementEvent.objects.count() == 1


def test_batch_of_1001_rejected_and_nothing_stored(marketer_api):
    batch = [event_body(external_id=f"evt-{number}") for number in range(1001)]

    response = post(marketer_api, batch)

    assert response.status_code == 400
    assert response.json() == {
        "code": "batch_too_large",
        "message": "1,001 events is more than the maximum of 1,000 per request; "
        "split them into several requests.",
        "fields": {},
    }
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


def test_batch_of_1000_accepted(marketer_api):
    lead = LeadFactory()
    batch = [
        event_body(external_id=f"evt-{number}", email=None, lead_id=lead.pk)
        for number in range(1000)
    ]

    response = post(marketer_api, batch)

    assert response.status_code == 200
    assert response.json()["counts"] == {"total": 1000, "created": 1000, "duplicate": 0, "error": 0}
    assert EngagementEvent.objects.count() == 1000


def test_empty_batch_rejected(marketer_api):
    response = post(marketer_api, [])

    assert response.status_code == 400
    assert response.json() == {
        "code": "empty_batch",
        "message": "The list of events is empty; send 1 to 1,000 events.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("raw", "shown"),
    [('"page_view"', "a string"), ("42", "a number"), ("null", "null"), ("true", "a boolean")],
)
def test_scalar_body_rejected(marketer_api, raw, shown):
    response = marketer_api.post(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_body",
        "message": f"Expected an event object or a list of event objects, got {shown}; "
        'send JSON such as [{"kind": "page_view", "email": "name@example.com", '
        '"occurred_at": "2026-03-01T14:30:00Z"}].',
        "fields": {},
    }
    assert EngagementEvent.objects.count() == 0


def test_empty_body_rejected(marketer_api):
    response = marketer_api.post(URL, "", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "empty_body",
        "message": "The body is empty; send an event object or a list of 1 to 1,000 event "
        "objects as JSON.",
        "fields": {},
    }


def test_body_over_size_limit_rejected(marketer_api, monkeypatch):
    monkeypatch.setattr(events_api, "MAX_EVENT_BODY_BYTES", 100)
    raw = json.dumps([event_body(external_id=f"evt-{number}") for number in range(3)])

    response = marketer_api.post(URL, raw, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "code": "request_too_large",
        "message": f"The body of {len(raw):,} bytes is larger than the maximum of 100 bytes; "
        "split the events into several requests.",
        "fields": {},
    }
    assert EngagementEvent.objects.count() == 0


def test_batch_non_objects_give_item_errors(marketer_api):
    response = post(marketer_api, ["page_view", [1]])

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "index": 0,
            "status": "error",
            "errors": {"non_field_errors": ["Expected an event object, got str."]},
        },
        {
            "index": 1,
            "status": "error",
            "errors": {"non_field_errors": ["Expected an event object, got list."]},
        },
    ]
    assert response.json()["counts"] == {"total": 2, "created": 0, "duplicate": 0, "error": 2}


def test_free_mail_lead_not_linked_to_account(marketer_api):
    response = post(marketer_api, event_body(email="dana.keller@gmail.com"))

    lead = Lead.objects.get(pk=response.json()["lead_id"])
    assert lead.account is None
    assert Account.objects.count() == 0


def test_company_lead_linked_to_new_account(marketer_api):
    response = post(marketer_api, event_body())

    lead = Lead.objects.get(pk=response.json()["lead_id"])
    account = Account.objects.get()
    assert lead.account == account
    assert account.domain == "precision-parts.example"
    assert account.name == "precision-parts.example"


def test_company_lead_linked_to_existing_account(marketer_api):
    account = AccountFactory(domain="precision-parts.example")

    response = post(
        marketer_api,
        [
            event_body(external_id="evt-1"),
            event_body(external_id="evt-2", email="buyer@www.precision-parts.example"),
        ],
    )

    lead_ids = [result["lead_id"] for result in response.json()["results"]]
    assert Account.objects.count() == 1
    assert list(Lead.objects.filter(pk__in=lead_ids).values_list("account_id", flat=True)) == [
        account.pk,
        account.pk,
    ]


def test_events_mark_leads_stale(marketer_api):
    lead = LeadFactory(score_stale=False)

    post(marketer_api, event_body(email=lead.email))

    lead.refresh_from_db()
    assert lead.score_stale is True


@pytest.mark.parametrize("size", [10, 100])
def test_batch_queries_bounded(marketer_api, django_assert_max_num_queries, size):
    """Known and new leads, company and free-mail domains: the query count does not grow."""
    known = LeadFactory.create_batch(5)
    EngagementEventFactory(lead=known[0], external_id="evt-0")
    batch = []
    for number in range(size):
        if number % 4 == 0:
            batch.append(
                event_body(external_id=f"evt-{number}", email=None, lead_id=known[number % 5].pk)
            )
        elif number % 4 == 1:
            batch.append(event_body(external_id=f"evt-{number}", email=f"buyer{number}@gmail.com"))
        else:
            batch.append(
                event_body(external_id=f"evt-{number}", email=f"buyer@plant-{number % 7}.example")
            )

    # 16 at 100 events on SQLite, where Django splits the insert of the new leads into batches of
    # 999 parameters; PostgreSQL inserts them at once.
    with django_assert_max_num_queries(16):
        response = post(marketer_api, batch)

    assert response.json()["counts"] == {
        "total": size,
        "created": size - 1,
        "duplicate": 1,
        "error": 0,
    }


def test_occurred_at_stored_in_utc(marketer_api):
    post(marketer_api, event_body(occurred_at="2026-03-01T16:30:00+02:00"))

    assert EngagementEvent.objects.get().occurred_at.isoformat() == OCCURRED_AT.replace(
        "Z", "+00:00"
    )


@pytest.mark.django_db(transaction=True)
def test_event_stored_when_eager_scoring_fails(marketer_api, monkeypatch, caplog, settings):
    """Without a broker, scoring runs after the commit; its failure must not fail the request."""
    from leadflow.celery import app as celery_app
    from scoring import services as scoring_services

    # The project's default, which the suite's eager_celery fixture overrides and restores.
    celery_app.conf.task_eager_propagates = settings.CELERY_TASK_EAGER_PROPAGATES

    def fail(*, lead_ids):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(scoring_services, "leads_rescore", fail)

    response = post(marketer_api, event_body())

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.score_stale is True
    assert EngagementEvent.objects.filter(lead=lead).count() == 1
    failures = [
        record.getMessage() for record in caplog.records if record.name == "leadflow.celery"
    ]
    assert len(failures) == 1
    assert failures[0].startswith("Task scoring.rescore_leads ")
    assert failures[0].endswith(
        f" failed in the calling process for arguments [[{lead.pk}]]: "
        "RuntimeError('scoring failed')"
    )


@pytest.mark.django_db(transaction=True)
def test_event_stored_when_eager_auto_handoff_fails(
    marketer_api, default_ruleset, caplog, settings
):
    """A window of 999,999,999 days overflows the automatic handoff's date arithmetic."""
    from handoff.models import HandoffSettings
    from leadflow.celery import app as celery_app

    celery_app.conf.task_eager_propagates = settings.CELERY_TASK_EAGER_PROPAGATES
    HandoffSettings.objects.update_or_create(
        pk=1,
        defaults={
            "auto_handoff_enabled": True,
            "auto_window_days": 999_999_999,
            "auto_event_kinds": ["quote_request"],
        },
    )

    response = post(marketer_api, event_body(kind="quote_request"))

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.score_stale is False
    assert EngagementEvent.objects.filter(lead=lead).count() == 1
    failures = [
        record.getMessage() for record in caplog.records if record.name == "leadflow.celery"
    ]
    assert len(failures) == 1
    assert failures[0].startswith("Task handoff.auto_handoff ")
    assert f"for arguments [[{lead.pk}]]: OverflowError(" in failures[0]


def test_suite_propagates_eager_task_errors():
    from leadflow.celery import app as celery_app

    assert celery_app.conf.task_eager_propagates is True
