"""Shared pieces of the REST API: strict query parameters and input, ordering, pagination, metadata.

Every list under /api/v1/ rejects a query parameter it does not know with 400
instead of ignoring it, so a misspelt filter never returns the unfiltered list.
The settings make these the defaults (`DEFAULT_FILTER_BACKENDS`,
`DEFAULT_PAGINATION_CLASS`, `DEFAULT_METADATA_CLASS`), so a new viewset gets
them without declaring anything. docs/api.md describes how a view accepts extra
parameters.
"""

from leadflow.api.fields import (
    StrictBooleanFilter,
    StrictDateField,
    StrictDateTimeFilter,
    StrictFilterSet,
    StrictIntegerFilter,
    StrictUUIDFilter,
)
from leadflow.api.inputs import (
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    StrictSlugRelatedField,
)
from leadflow.api.pagination import MAX_PAGE_SIZE, ApiPageNumberPagination, KeysetCursorPagination
from leadflow.api.query import (
    InvalidCursor,
    InvalidOrdering,
    InvalidQueryParameter,
    StrictOrderingFilter,
    StrictQueryParamsFilter,
    StrictSearchFilter,
    UnknownQueryParameter,
    accepted_query_params,
    reject_unknown_query_params,
)
from leadflow.api.schema import ApiMetadata, require_query_values

__all__ = [
    "MAX_PAGE_SIZE",
    "ApiMetadata",
    "ApiPageNumberPagination",
    "InvalidCursor",
    "InvalidOrdering",
    "InvalidQueryParameter",
    "KeysetCursorPagination",
    "RejectUnknownFieldsMixin",
    "StrictBooleanField",
    "StrictBooleanFilter",
    "StrictCharField",
    "StrictChoiceField",
    "StrictDateField",
    "StrictDateTimeFilter",
    "StrictDecimalField",
    "StrictFilterSet",
    "StrictIntegerField",
    "StrictIntegerFilter",
    "StrictOrderingFilter",
    "StrictPrimaryKeyRelatedField",
    "StrictQueryParamsFilter",
    "StrictSearchFilter",
    "StrictSlugRelatedField",
    "StrictUUIDFilter",
    "UnknownQueryParameter",
    "accepted_query_params",
    "reject_unknown_query_params",
    "require_query_values",
]
