"""Rate strings such as "600/min", as DRF's throttles write them."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_PATTERN = re.compile(
    r"^(?P<count>[1-9][0-9]{0,6})/(?P<period>s|sec|second|m|min|minute|h|hour|d|day)$"
)


def parse_rate(rate: str) -> tuple[int, int]:
    """Split a rate such as "600/min" into (allowed requests, period in seconds)."""
    match = RATE_PATTERN.match(rate.strip())
    if match is None:
        raise ValueError(
            f"Invalid rate {rate!r}; write it as <requests>/<period> with period s, min, hour "
            "or day, such as 600/min."
        )
    return int(match["count"]), PERIOD_SECONDS[match["period"][0]]


def validate_rate(value: str) -> None:
    """Raise ValidationError unless `value` is empty or a valid rate string."""
    if not value:
        return
    try:
        parse_rate(value)
    except ValueError as error:
        raise ValidationError(str(error), code="invalid_rate") from error
