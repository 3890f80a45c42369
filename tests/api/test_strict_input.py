"""The strict serializer fields of leadflow.api take only the JSON type the schema documents."""

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from handoff.models import Rep, Territory
from leadflow.api import (
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    StrictSlugRelatedField,
)
from tests.factories import RepFactory, TerritoryFactory


class Sample(RejectUnknownFieldsMixin, serializers.Serializer):
    text = StrictCharField(required=False)
    number = StrictIntegerField(required=False, min_value=1)
    flag = StrictBooleanField(required=False)
    colour = StrictChoiceField(choices=[("red", "Red"), ("blue", "Blue")], required=False)
    hours = StrictDecimalField(max_digits=6, decimal_places=2, required=False)
    rep = StrictPrimaryKeyRelatedField(queryset=Rep.objects.all(), required=False)
    territory = StrictSlugRelatedField(
        slug_field="code", queryset=Territory.objects.all(), required=False
    )
    created = serializers.IntegerField(read_only=True)


def errors_of(data):
    serializer = Sample(data=data)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"text": 0}, "text", "Send a string; 0 is a number."),
        ({"text": ["a"]}, "text", 'Send a string; ["a"] is an array.'),
        ({"number": "12"}, "number", 'Send a whole number; "12" is a string.'),
        ({"number": 12.0}, "number", "Send a whole number; 12.0 is a number."),
        ({"number": True}, "number", "Send a whole number; true is a boolean."),
        ({"flag": "true"}, "flag", 'Send true or false; "true" is a string.'),
        ({"flag": 1}, "flag", "Send true or false; 1 is a number."),
        ({"colour": 1}, "colour", "Send a string; 1 is a number."),
        (
            {"colour": "green"},
            "colour",
            '"green" is not one of the choices; use one of red, blue.',
        ),
        ({"hours": "8.5"}, "hours", 'Send a number; "8.5" is a string.'),
        ({"rep": "1"}, "rep", 'Send an id; "1" is a string.'),
        ({"territory": 7}, "territory", "Send a string; 7 is a number."),
        ({"territory": {"code": "x"}}, "territory", 'Send a string; {"code": "x"} is an object.'),
    ],
    ids=[
        "text-number",
        "text-array",
        "integer-text",
        "integer-float",
        "integer-boolean",
        "boolean-text",
        "boolean-number",
        "choice-number",
        "choice-unknown",
        "decimal-text",
        "id-text",
        "slug-number",
        "slug-object",
    ],
)
def test_wrong_json_type_rejected_naming_value(db, data, field, message):
    assert errors_of(data) == {field: [message]}


def test_long_value_shortened_in_message():
    errors = errors_of({"number": "x" * 100})

    assert errors == {"number": [f'Send a whole number; "{"x" * 58}… is a string.']}


def test_unknown_id_names_it(db):
    assert errors_of({"rep": 424242}) == {
        "rep": ["Rep 424242 does not exist; send the id of an existing one."]
    }


def test_unknown_slug_names_it(db):
    assert errors_of({"territory": "atlantis"}) == {
        "territory": ['No territory has the code "atlantis".']
    }


def test_unknown_field_rejected_listing_writable(db):
    assert errors_of({"txet": "hello"}) == {
        "txet": ["Unknown field; use one of: colour, flag, hours, number, rep, territory, text."]
    }


def test_read_only_field_in_body_ignored(db):
    serializer = Sample(data={"text": "hello", "created": 5})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"text": "hello"}


def test_valid_values_accepted(db):
    rep = RepFactory()
    territory = TerritoryFactory(code="europe")
    serializer = Sample(
        data={
            "text": "hello",
            "number": 3,
            "flag": False,
            "colour": "blue",
            "hours": 8.5,
            "rep": rep.pk,
            "territory": "europe",
        }
    )

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {
        "text": "hello",
        "number": 3,
        "flag": False,
        "colour": "blue",
        "hours": Decimal("8.50"),
        "rep": rep,
        "territory": territory,
    }


def test_decimal_rendered_as_json_number():
    value = StrictDecimalField(max_digits=6, decimal_places=2).to_representation(Decimal("8.50"))

    assert JSONRenderer().render({"hours": value}) == b'{"hours":8.5}'
