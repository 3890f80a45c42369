"""Keyset pagination and bounded counting for the MQL queue page.

A page starts after (or ends before) the sort key of a row, carried in an opaque cursor,
so a deep page costs as much as the first: an OFFSET reads every row it skips. The count
is exact up to COUNT_LIMIT and an estimate above it, because an exact COUNT(*) of a large
queue costs more than the rest of the page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.dateparse import parse_datetime

from leads.models import Lead

# Above this many leads the queue shows an estimate; counting 10,001 rows of an index takes
# a few milliseconds.
COUNT_LIMIT = 10_000


class InvalidCursor(ValueError):
    """A page cursor that was not made by this module, or no longer fits the sort."""


@dataclass(frozen=True)
class KeysetOrder:
    """A sort of the queue: fields in one direction, ending with the primary key.

    When `nullable_first` is set, the first field may be NULL and those rows come after
    all others in both directions, as `nulls_last` sorts them.
    """

    fields: tuple[str, ...]
    descending: bool
    nullable_first: bool = False

    def key_of(self, lead: Lead) -> tuple[Any, ...]:
        return tuple(getattr(lead, name) for name in self.fields)


@dataclass(frozen=True)
class Cursor:
    """The start of a page: the row with `key`, which the page follows or, with `before`, precedes.

    `position` counts the rows before the page, and is only shown to people.
    """

    key: tuple[Any, ...]
    position: int
    before: bool = False

    def encode(self) -> str:
        values = [value.isoformat() if isinstance(value, datetime) else value for value in self.key]
        text = json.dumps([self.position, int(self.before), values], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str, order: KeysetOrder) -> Cursor:
    """Read a cursor made by Cursor.encode for `order`; raise InvalidCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        position, before, values = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor(f"Unreadable cursor {text!r}.") from error
    if not isinstance(position, int) or position < 0 or not isinstance(values, list):
        raise InvalidCursor(f"Malformed cursor {text!r}.")
    if len(values) != len(order.fields):
        raise InvalidCursor(f"Cursor {text!r} does not fit the sort.")
    key = tuple(
        _key_value(name, value, order) for name, value in zip(order.fields, values, strict=True)
    )
    return Cursor(key=key, position=position, before=bool(before))


def _key_value(name: str, value: Any, order: KeysetOrder) -> Any:
    if value is None:
        if name == order.fields[0] and order.nullable_first:
            return None
        raise InvalidCursor(f"The cursor has no value for {name}.")
    if isinstance(Lead._meta.get_field(name), DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidCursor(f"The cursor's {name} {value!r} is not a date and time.")
        return parsed
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCursor(f"The cursor's {name} {value!r} is not a number.")
    return value


@dataclass(frozen=True)
class KeysetPage:
    """One page of leads and the cursors of its neighbours; `start` counts the rows before it."""

    leads: list[Lead]
    start: int
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def start_index(self) -> int:
        return self.start + 1

    @property
    def end_index(self) -> int:
        return self.start + len(self.leads)


def keyset_page(
    queryset: QuerySet[Lead], order: KeysetOrder, cursor: Cursor | None, size: int
) -> KeysetPage:
    """Read the page of `size` leads that `cursor` points at, or the first page without one."""
    if cursor is not None and cursor.before:
        leads = _fetch(queryset, order, cursor.key, size + 1, backward=True)
        more_before = len(leads) > size
        leads = leads[:size][::-1]
        if leads:
            start = max(cursor.position - len(leads), 0) if more_before else 0
            return _page(order, leads, start, has_next=True, has_previous=more_before)
        cursor = None

    leads = _fetch(queryset, order, cursor.key if cursor else None, size + 1, backward=False)
    start = cursor.position if cursor else 0
    return _page(order, leads[:size], start, has_next=len(leads) > size, has_previous=start > 0)


def _page(
    order: KeysetOrder, leads: list[Lead], start: int, *, has_next: bool, has_previous: bool
) -> KeysetPage:
    next_cursor = previous_cursor = None
    if leads and has_next:
        next_cursor = Cursor(order.key_of(leads[-1]), start + len(leads)).encode()
    if leads and has_previous:
        previous_cursor = Cursor(order.key_of(leads[0]), start, before=True).encode()
    return KeysetPage(
        leads=leads, start=start, next_cursor=next_cursor, previous_cursor=previous_cursor
    )


def _fetch(
    queryset: QuerySet[Lead],
    order: KeysetOrder,
    key: tuple[Any, ...] | None,
    limit: int,
    *,
    backward: bool,
) -> list[Lead]:
    """Read up to `limit` leads beyond `key` in sort order, or before it if `backward`.

    A backward read returns the leads nearest the key first. Rows whose nullable first
    field is NULL are read separately, so that each read is one range of an index.
    """
    descending = order.descending != backward
    if not order.nullable_first:
        return _range(queryset, order.fields, key, descending, limit)

    first, rest = order.fields[0], order.fields[1:]
    with_value = queryset.filter(**{f"{first}__isnull": False})
    without_value = queryset.filter(**{f"{first}__isnull": True})
    parts: list[tuple[QuerySet[Lead], tuple[str, ...], tuple[Any, ...] | None]]
    if key is None:
        parts = [(with_value, order.fields, None), (without_value, rest, None)]
    elif key[0] is None and backward:
        parts = [(without_value, rest, key[1:]), (with_value, order.fields, None)]
    elif key[0] is None:
        parts = [(without_value, rest, key[1:])]
    elif backward:
        parts = [(with_value, order.fields, key)]
    else:
        parts = [(with_value, order.fields, key), (without_value, rest, None)]

    leads: list[Lead] = []
    for part, fields, part_key in parts:
        leads += _range(part, fields, part_key, descending, limit - len(leads))
        if len(leads) >= limit:
            break
    return leads


def _range(
    queryset: QuerySet[Lead],
    fields: tuple[str, ...],
    key: tuple[Any, ...] | None,
    descending: bool,
    limit: int,
) -> list[Lead]:
    if key is not None:
        queryset = queryset.filter(_beyond(fields, key, descending))
    ordering = [f"-{name}" if descending else name for name in fields]
    return list(queryset.order_by(*ordering)[:limit])


def _beyond(fields: tuple[str, ...], key: tuple[Any, ...], descending: bool) -> Q | Any:
    """Build the condition for rows after `key` in the direction of the sort.

    A row comparison such as (fit_score, engagement_score, id) < (70, 52.5, 812) is one
    range of the matching index, where the same condition spelt out with OR is not.
    """
    # NOTE: Django 5.2 added these row-comparison lookups for composite primary keys. They
    # are not documented, so a Django upgrade may move them.
    if len(fields) == 1:
        return Q(**{f"{fields[0]}__{'lt' if descending else 'gt'}": key[0]})
    lookup = TupleLessThan if descending else TupleGreaterThan
    return lookup(Tuple(*(F(name) for name in fields)), key)


@dataclass(frozen=True)
class LeadCount:
    """How many leads match: exactly, as the planner's estimate, or at least `value`."""

    value: int
    kind: str  # "exact", "estimate" or "at_least"


def count_leads(queryset: QuerySet[Lead], page: KeysetPage, limit: int | None = None) -> LeadCount:
    """Count the leads of `queryset`, of which `page` is a page, with as little reading as possible.

    A first page without a next page contains them all. Otherwise the planner's estimate
    decides: above `limit` (COUNT_LIMIT by default) the estimate is returned, and below it
    the leads are counted, reading at most `limit` + 1 rows. Without an
    estimate (on SQLite) the bounded count alone decides. The estimate can be off by a wide
    margin for a filter that the statistics do not capture well.
    """
    limit = COUNT_LIMIT if limit is None else limit
    if page.start == 0 and page.next_cursor is None:
        return LeadCount(len(page.leads), "exact")

    estimate = _planner_estimate(queryset)
    if estimate is not None and estimate > limit:
        return LeadCount(_round_estimate(estimate), "estimate")
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    if counted <= limit:
        return LeadCount(counted, "exact")
    return LeadCount(limit, "at_least")


def _planner_estimate(queryset: QuerySet[Lead]) -> int | None:
    if connection.vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _round_estimate(value: int) -> int:
    """Keep two significant digits, so that 98,437 shows as "about 98,000"."""
    digits = len(str(value))
    step = 10 ** max(digits - 2, 0)
    return round(value / step) * step
