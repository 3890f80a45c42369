"""Strict query parameters: a list rejects a parameter it does not read with 400, naming it.

A misspelt filter would otherwise be ignored and return the unfiltered list.
Ordering takes one field of the view's `ordering_fields`, ties broken by id,
so that cursor pagination can serve every ordering a list accepts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.forms import MultiWidget
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import SuffixedMultiWidget
from rest_framework import filters
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.settings import api_settings

from leadflow.errors import ApplicationError

ID_FIELD = "id"


class UnknownQueryParameter(ApplicationError):
    code = "unknown_query_parameter"


class InvalidQueryParameter(ApplicationError):
    code = "invalid_query_parameter"


class InvalidOrdering(ApplicationError):
    code = "invalid_ordering"


class InvalidCursor(ApplicationError):
    code = "invalid_cursor"


def filterset_query_params(filterset_class: type[FilterSet]) -> dict[str, bool]:
    """Map the query parameters a FilterSet reads to whether each may be repeated.

    Range filters read one parameter per suffix; multiple-choice filters read
    every value of a repeated parameter.
    """
    names: dict[str, bool] = {}
    for name, declared in filterset_class.base_filters.items():
        widget = declared.field.widget
        if isinstance(widget, SuffixedMultiWidget):
            names.update(
                dict.fromkeys(map(functools.partial(widget.suffixed, name), widget.suffixes), False)
            )
        elif isinstance(widget, MultiWidget):
            names.update({f"{name}_{index}": False for index in range(len(widget.widgets))})
        else:
            names[name] = bool(getattr(widget, "allow_multiple_selected", False))
    return names


def pagination_query_params(paginator: BasePagination | None) -> set[str]:
    """Return the query parameters a paginator reads: page, cursor, page_size, limit, offset."""
    if paginator is None:
        return set()
    names = set()
    for attribute in (
        "page_query_param",
        "cursor_query_param",
        "page_size_query_param",
        "limit_query_param",
        "offset_query_param",
    ):
        value = getattr(paginator, attribute, None)
        if isinstance(value, str) and value:
            names.add(value)
    return names


def accepted_query_params(view: Any, queryset: QuerySet[Any] | None = None) -> dict[str, bool]:
    """Map every query parameter `view` reads to whether it may be repeated.

    The parameters come from the view's filters, ordering, search and
    pagination, plus `format`. A view adds names of its own with
    `extra_query_params`, a collection of names each read once.
    """
    names: dict[str, bool] = dict.fromkeys(getattr(view, "extra_query_params", ()) or (), False)
    if api_settings.URL_FORMAT_OVERRIDE:
        names[api_settings.URL_FORMAT_OVERRIDE] = False

    for backend_class in getattr(view, "filter_backends", ()):
        backend = backend_class()
        declared = getattr(backend, "get_accepted_query_params", None)
        if callable(declared):
            names.update(dict.fromkeys(declared(view), False))
        elif isinstance(backend, DjangoFilterBackend):
            filterset_class = backend.get_filterset_class(view, queryset)
            if filterset_class is not None:
                names.update(filterset_query_params(filterset_class))
        elif isinstance(backend, filters.OrderingFilter):
            names[backend.ordering_param] = False
        elif isinstance(backend, filters.SearchFilter) and getattr(view, "search_fields", None):
            names[backend.search_param] = False

    names.update(dict.fromkeys(pagination_query_params(getattr(view, "paginator", None)), False))
    return names


def reject_unknown_query_params(
    request: Request, accepted: Mapping[str, bool] | Iterable[str]
) -> None:
    """Raise a 400 naming each query parameter outside `accepted`, or sent wrongly.

    `accepted` is a collection of names, or maps names to whether they may be
    repeated; a name from a plain collection may not. A parameter sent twice
    that may not be repeated is rejected instead of one value winning, and an
    empty value instead of being read as no filter. Values containing a NUL
    character are rejected too: PostgreSQL cannot compare text with one, so it
    would otherwise fail as a server error.
    """
    repeatable = dict(accepted) if isinstance(accepted, Mapping) else dict.fromkeys(accepted, False)
    names = sorted(repeatable)
    unknown = sorted(name for name in request.query_params if name not in repeatable)
    if unknown:
        accepted_text = ", ".join(names) if names else "none"
        raise UnknownQueryParameter(
            f"Unknown query parameter {', '.join(unknown)} for {request.method} {request.path}; "
            f"it accepts: {accepted_text}.",
            extra={
                "fields": {
                    name: [f"Unknown query parameter; use one of: {accepted_text}."]
                    for name in unknown
                }
            },
        )

    problems: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if len(values) > 1 and not repeatable[name]:
            problems[name] = [f"Sent {len(values)} times; send it once."]
        elif any(not value.strip() for value in values):
            problems[name] = ["Empty; send a value, or leave the parameter out."]
        elif any("\x00" in value for value in values):
            problems[name] = ["Contains a NUL character; remove it."]
    if problems:
        first = sorted(problems)[0]
        raise InvalidQueryParameter(
            f"Query parameter {first} is invalid. {problems[first][0]}",
            extra={"fields": dict(sorted(problems.items()))},
        )


class StrictQueryParamsFilter(filters.BaseFilterBackend):
    """Reject query parameters that none of the view's filters, ordering or pagination read.

    It must come first in `filter_backends` so that it runs before the others
    act on parameters.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        reject_unknown_query_params(request, accepted_query_params(view, queryset))
        return queryset


class StrictSearchFilter(filters.SearchFilter):
    """DRF's search over the view's `search_fields`; the parameter exists only where they do."""

    def get_accepted_query_params(self, view: Any) -> list[str]:
        return [self.search_param] if getattr(view, "search_fields", None) else []

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        fields = ", ".join(field.lstrip("^=@$") for field in view.search_fields)
        parameters[0]["description"] = (
            f"Words that must each appear, case-insensitively, in one of: {fields}."
        )
        return parameters


# Ordering


def ordering_choices(fields: Iterable[str]) -> list[str]:
    """Return the accepted values of `ordering`: each field, ascending and descending."""
    choices = []
    for field in fields:
        choices.extend([field, f"-{field}"])
    return choices


def with_id_tiebreak(term: str) -> tuple[str, ...]:
    """Return the ordering of `term` followed by the id in the same direction.

    Rows with equal values would otherwise come back in any order, so pages
    could overlap or skip rows.
    """
    field = term.lstrip("-")
    if field == ID_FIELD:
        return (term,)
    return (term, f"-{ID_FIELD}" if term.startswith("-") else ID_FIELD)


class StrictOrderingFilter(filters.OrderingFilter):
    """`?ordering=<field>` or `-<field>` over the view's `ordering_fields`, ties broken by id.

    One field only, so that cursor pagination can serve every ordering it
    accepts. An unknown field is a 400 naming it. The view's `ordering` (one
    term, such as "-created_at") is the default.
    """

    def get_accepted_query_params(self, view: Any) -> list[str]:
        return [self.ordering_param] if getattr(view, "ordering_fields", None) else []

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        allowed: Sequence[str] = getattr(view, "ordering_fields", None) or ()
        default: str | None = getattr(view, "ordering", None)
        values = request.query_params.getlist(self.ordering_param) if allowed else []
        if not values:
            return with_id_tiebreak(default) if default else ()

        choices = ordering_choices(allowed)
        accepted_text = ", ".join(choices)
        if len(values) > 1:
            raise InvalidOrdering(
                f"{self.ordering_param} was sent {len(values)} times; send it once, with one of: "
                f"{accepted_text}.",
                extra={"fields": {self.ordering_param: ["Send one ordering field."]}},
            )
        term = values[0].strip()
        if term not in choices:
            reason = (
                "Sort by one field only; ties are broken by id."
                if "," in term
                else f"Unknown ordering field {term!r}."
            )
            raise InvalidOrdering(
                f"{reason} Use one of: {accepted_text}.",
                extra={"fields": {self.ordering_param: [f"{reason} Use one of: {accepted_text}."]}},
            )
        return with_id_tiebreak(term)

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = getattr(view, "ordering_fields", None)
        if not allowed:
            return []
        default = getattr(view, "ordering", None)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort field; a leading '-' sorts descending. Rows with equal "
                f"values are ordered by id. The default is {default}.",
                "schema": {"type": "string", "enum": ordering_choices(allowed)},
            }
        ]
