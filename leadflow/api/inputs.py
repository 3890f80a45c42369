"""Serializer fields that accept only the JSON type the OpenAPI schema documents.

DRF's fields convert loosely: CharField stores the number 0 as "0",
IntegerField takes "12" and 12.0, BooleanField takes "yes", 1 and "on", and
PrimaryKeyRelatedField takes an id sent as text. A client with a type error
would then get a 2xx instead of a 400, and the schema would not describe what
the API accepts. These fields reject every other JSON type with a message
naming the value and the type to send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

MAX_SHOWN_VALUE_LENGTH = 60


def json_type(value: Any) -> str:
    """Return the JSON name of the type of a parsed JSON value, such as "string" or "array"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def shown_value(value: Any) -> str:
    """Return `value` as JSON text, shortened so that a long input does not flood the message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > MAX_SHOWN_VALUE_LENGTH:
        text = text[: MAX_SHOWN_VALUE_LENGTH - 1] + "…"
    return text


def wrong_type(expected: str, value: Any) -> str:
    return f"Send {expected}; {shown_value(value)} is {_article(json_type(value))}."


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


class StrictCharField(serializers.CharField):
    """Text sent as a JSON string. Numbers, booleans, arrays and objects are invalid."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(wrong_type("a string", data), code="invalid")
        value: str = super().to_internal_value(data)
        return value


class StrictChoiceField(serializers.ChoiceField):
    """One of `choices`, sent as a JSON string. The message of an unknown value lists the choices."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(wrong_type("a string", data), code="invalid")
        if data == "" and self.allow_blank:
            return ""
        if data not in self.choice_strings_to_values:
            raise serializers.ValidationError(
                f"{shown_value(data)} is not one of the choices; use one of "
                f"{', '.join(map(str, self.choices))}.",
                code="invalid_choice",
            )
        return self.choice_strings_to_values[data]


class StrictIntegerField(serializers.IntegerField):
    """A whole number sent as a JSON number. "12", 12.0 and true are invalid."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(wrong_type("a whole number", data), code="invalid")
        return data


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false. "true", 1 and "yes" are invalid."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError(wrong_type("true or false", data), code="invalid")
        return data


class StrictDecimalField(serializers.DecimalField):
    """A decimal number sent and returned as a JSON number. "8.5" and true are invalid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise serializers.ValidationError(wrong_type("a number", data), code="invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """An object named by its id, sent as a JSON number. The message of an unknown id names it."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(wrong_type("an id", data), code="incorrect_type")
        queryset = self.get_queryset()
        assert queryset is not None, "Set queryset, or read_only=True, on the field."
        found = queryset.filter(pk=data).first()
        if found is None:
            name = queryset.model._meta.verbose_name
            raise serializers.ValidationError(
                f"{str(name).capitalize()} {data} does not exist; send the id of an existing one.",
                code="does_not_exist",
            )
        return found


class StrictSlugRelatedField(serializers.SlugRelatedField[Any]):
    """An object named by a text field such as a code, sent as a JSON string."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(wrong_type("a string", data), code="invalid")
        queryset = self.get_queryset()
        assert queryset is not None, "Set queryset, or read_only=True, on the field."
        found = queryset.filter(**{self.slug_field: data}).first()
        if found is None:
            name = queryset.model._meta.verbose_name
            raise serializers.ValidationError(
                f"No {name} has the {self.slug_field} {shown_value(data)}.",
                code="does_not_exist",
            )
        return found


class RejectUnknownFieldsMixin:
    """Reject body fields the serializer does not have, instead of ignoring them.

    A misspelt field would otherwise be dropped and the request succeed without
    it. Read-only fields are known, so a body read from the API and sent back
    passes; their values are ignored.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields: Mapping[str, Any] = self.fields  # type: ignore[attr-defined]
            writable = sorted(name for name, field in fields.items() if not field.read_only)
            unknown = sorted(str(name) for name in data if name not in fields)
            if unknown:
                message = f"Unknown field; use one of: {', '.join(writable)}."
                raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]
