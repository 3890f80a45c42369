"""Pagination of the API lists: numbered pages for short lists, keyset cursors for long ones."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import Model, Q, QuerySet
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from leadflow.api.query import ID_FIELD, InvalidCursor, InvalidQueryParameter, with_id_tiebreak

MAX_PAGE_SIZE = 200
# SQLite raises OverflowError for integers beyond 64 bits instead of comparing them.
MAX_SQL_INTEGER = 2**63 - 1


def _page_size_error(name: str, raw: str) -> InvalidQueryParameter:
    message = f"{name} must be a whole number from 1 to {MAX_PAGE_SIZE}, not {raw!r}."
    return InvalidQueryParameter(message, extra={"fields": {name: [message]}})


def strict_page_size(request: Request, name: str, default: int) -> int:
    """Return the page size the request sets, or raise a 400 for one outside 1 to the maximum."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise _page_size_error(name, raw) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _page_size_error(name, raw)
    return size


class ApiPageNumberPagination(PageNumberPagination):
    """Numbered pages with a count, for lists small enough to count: `page`, `page_size`.

    A malformed page number or page size is a 400; a page past the last is a 404.
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        return strict_page_size(request, self.page_size_query_param, self.page_size or 50)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return raw
        if not raw.isdigit() or int(raw) < 1:
            message = f"{self.page_query_param} must be a whole number from 1, not {raw!r}."
            raise InvalidQueryParameter(
                message, extra={"fields": {self.page_query_param: [message]}}
            )
        return raw


@dataclass(frozen=True)
class Position:
    """Start of a cursor page: the sort value and id of a row, and the reading direction."""

    value: Any
    id: int
    reverse: bool = False
    # Include the row at the position itself; set for a "previous" link from an empty page.
    inclusive: bool = False


def _model_field(model: type[Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ImproperlyConfigured(f"{model.__name__}.{name} is a relation, not a sortable field.")
    return field


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class KeysetCursorPagination(CursorPagination):
    """Cursor pages over a unique key: the sort field and then the id (`cursor`, `page_size`).

    The cursor contains the sort value and id of the row where the page starts,
    so rows inserted or deleted elsewhere never shift a page, unlike numbered
    pages. DRF's CursorPagination keys on the sort field alone and counts
    offsets among equal values; this one compares (value, id) pairs, so equal
    values cost nothing. Sort fields must be non-null model fields. With an
    index on (field, id), PostgreSQL reads a page from the cursor position
    onwards instead of sorting the list (EXPLAIN on 20,000 leads).
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = f"-{ID_FIELD}"
    template = None

    def get_page_size(self, request: Request) -> int:
        return strict_page_size(request, self.page_size_query_param, self.page_size or 50)

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.sort_terms: tuple[str, ...] = self.get_ordering(request, queryset, view)
        field, descending = self._sort_key(queryset.model)

        position = self._decode_position(request, queryset.model, field)
        reverse = position is not None and position.reverse
        terms = with_id_tiebreak(f"-{field}" if descending != reverse else field)
        rows = queryset.order_by(*terms)
        if position is not None:
            rows = rows.filter(self._after(field, descending != reverse, position))

        results = list(rows[: self.page_size + 1])
        has_more = len(results) > self.page_size
        page = results[: self.page_size]
        if reverse:
            page.reverse()
        self.page = page

        # A forward page came from a position, so rows lie before it, and a reverse page came from
        # the first row of a later page. Either way the query's extra row shows the rows beyond.
        next_exists = reverse or has_more
        previous_exists = has_more if reverse else position is not None
        self.next_link_position = self._link_position(page, position, False, next_exists)
        self.previous_link_position = self._link_position(page, position, True, previous_exists)
        return page

    def _sort_key(self, model: type[Model]) -> tuple[str, bool]:
        terms = [term for term in self.sort_terms if term.lstrip("-") != ID_FIELD]
        if len(terms) > 1 or (terms and len(self.sort_terms) != 2):
            raise ImproperlyConfigured(
                f"KeysetCursorPagination sorts by one field and the id, not {self.sort_terms!r}."
            )
        term = terms[0] if terms else self.sort_terms[0]
        field = term.lstrip("-")
        if field != ID_FIELD and _model_field(model, field).null:
            raise ImproperlyConfigured(
                f"{model.__name__}.{field} is nullable, so cursor pagination cannot sort by it; "
                "remove it from the view's ordering_fields."
            )
        return field, term.startswith("-")

    def _after(self, field: str, descending: bool, position: Position) -> Q:
        """Select the rows that follow `position` in the (field, id) order being read."""
        strict, loose = ("lt", "lte") if descending else ("gt", "gte")
        id_lookup = f"{ID_FIELD}__{loose if position.inclusive else strict}"
        if field == ID_FIELD:
            return Q(**{id_lookup: position.id})
        # The first term bounds the index range; the second excludes equal values already read.
        return Q(**{f"{field}__{loose}": position.value}) & (
            Q(**{f"{field}__{strict}": position.value}) | Q(**{id_lookup: position.id})
        )

    def _link_position(
        self, page: list[Any], position: Position | None, reverse: bool, exists: bool
    ) -> Position | None:
        """Return where the next (reverse False) or previous (reverse True) page starts."""
        if not exists:
            return None
        if page:
            row = page[0] if reverse else page[-1]
            return Position(self._row_value(row), row.pk, reverse=reverse)
        if position is None:
            return None
        # An empty page keeps the incoming position. Turning back must read that row again.
        return Position(
            position.value, position.id, reverse=reverse, inclusive=reverse != position.reverse
        )

    def _row_value(self, row: Any) -> Any:
        field = self.sort_terms[0].lstrip("-")
        return getattr(row, field)

    def _decode_position(self, request: Request, model: type[Model], field: str) -> Position | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        ordering = self.sort_terms[0]
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(data, dict) or data.get("o") != ordering:
                raise ValueError("ordering")
            value, row_id = data["p"]
            if isinstance(row_id, bool) or not isinstance(row_id, int):
                raise ValueError("id")
            if field != ID_FIELD:
                value = _model_field(model, field).to_python(value)
                if value is None:
                    raise ValueError("value")
                if isinstance(value, datetime) and value.tzinfo is not None:
                    value = value.astimezone(UTC)
            # SQLite rejects integers beyond 64 bits with an OverflowError instead of comparing.
            if any(
                isinstance(number, int) and abs(number) > MAX_SQL_INTEGER
                for number in (value, row_id)
            ):
                raise ValueError("range")
            return Position(
                value, row_id, reverse=bool(data.get("r")), inclusive=bool(data.get("i"))
            )
        except (
            ValueError,
            TypeError,
            KeyError,
            OverflowError,
            UnicodeError,
            binascii.Error,
            ValidationError,
        ):
            message = (
                f"The cursor is invalid or belongs to another ordering than {ordering}; follow "
                "the next and previous links as returned, and start again without a cursor "
                "after changing the ordering or filters."
            )
            raise InvalidCursor(
                message, extra={"fields": {self.cursor_query_param: [message]}}
            ) from None

    def _encode_position(self, position: Position) -> str:
        data: dict[str, Any] = {
            "o": self.sort_terms[0],
            "p": [_json_value(position.value), position.id],
        }
        if position.reverse:
            data["r"] = 1
        if position.inclusive:
            data["i"] = 1
        encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        token = encoded.decode("ascii").rstrip("=")
        return str(replace_query_param(str(self.base_url), self.cursor_query_param, token))

    def get_next_link(self) -> str | None:
        if self.next_link_position is None:
            return None
        return self._encode_position(self.next_link_position)

    def get_previous_link(self) -> str | None:
        if self.previous_link_position is None:
            return None
        return self._encode_position(self.previous_link_position)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "Opaque position from the `next` or `previous` link of an earlier page; "
                    "leave it out for the first page."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Rows per page, 1 to {MAX_PAGE_SIZE}."
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                }
        return parameters
