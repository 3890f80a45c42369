"""The orjson body parser of the event endpoint gives the same values and errors as json."""

import json

import pytest

from leads.models import EngagementEvent
from tests.api.conftest import event_body

URL = "/api/v1/events/"

pytestmark = pytest.mark.django_db


def test_integer_beyond_64_bits_kept_exact(marketer_api):
    body = event_body(properties={"order_number": 123456789012345678901234567890})

    response = marketer_api.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 201
    assert EngagementEvent.objects.get().properties == {
        "order_number": 123456789012345678901234567890
    }


def test_negative_integer_beyond_64_bits_kept_exact(marketer_api):
    body = event_body(properties={"offset": -9223372036854775809})

    response = marketer_api.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 201
    assert EngagementEvent.objects.get().properties == {"offset": -9223372036854775809}


def test_utf16_body_parsed_by_charset(marketer_api):
    body = json.dumps(event_body(campaign="Messe München")).encode("utf-16")

    response = marketer_api.post(URL, body, content_type="application/json; charset=utf-16")

    assert response.status_code == 201
    assert EngagementEvent.objects.get().campaign == "Messe München"


def test_malformed_json_keeps_error_message(marketer_api):
    response = marketer_api.post(URL, '{"kind": }', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "message": "JSON parse error - Expecting value: line 1 column 10 (char 9). "
        "Send a valid JSON document; check quotes, commas and brackets.",
        "fields": {},
    }
