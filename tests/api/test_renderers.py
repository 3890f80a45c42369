"""The API's orjson renderer writes what DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from leadflow.api.renderers import FastJSONRenderer, render_json

UTC = datetime.UTC


@pytest.mark.parametrize(
    "data",
    [
        {"id": 7, "name": "Precision Parts", "score": 41.5, "active": True, "owner": None},
        ReturnDict({"results": ReturnList([{"a": 1}], serializer=None)}, serializer=None),
        {"at": datetime.datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)},
        {"at": datetime.datetime(2026, 12, 5, 9, 30)},
        {"on": datetime.date(2026, 12, 5), "time": datetime.time(9, 30, 1)},
        {"amount": decimal.Decimal("12.50"), "id": uuid.UUID(int=5)},
        {"fields": {"email": [ErrorDetail("Enter a valid e-mail.", code="invalid")]}},
        {"label": gettext_lazy("Marketing")},
        {"city": "Łódź", "quote": 'say "hi"\\n', "control": "\x01"},
        {1: "integer key"},
        {"big": 2**70},
        [1, 2.5, -0.0, 10**18],
    ],
    ids=[
        "plain",
        "return-dict",
        "utc-datetime",
        "naive-datetime",
        "date-and-time",
        "decimal-uuid",
        "error-detail",
        "lazy-text",
        "escapes",
        "integer-key",
        "big-integer",
        "numbers",
    ],
)
def test_render_json_matches_drf(data):
    assert render_json(data) == JSONRenderer().render(data)


def test_renderer_indents_on_request_like_drf():
    data = {"a": [1, 2]}

    indented = FastJSONRenderer().render(data, "application/json; indent=2", {})

    assert indented == JSONRenderer().render(data, "application/json; indent=2", {})
    assert b"\n" in indented


def test_renderer_writes_nothing_for_no_data():
    assert FastJSONRenderer().render(None) == b""
