"""Per-key rate limiting in the Django cache, with the numbers the rate-limit headers report."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from integrations.models import ApiKey
from integrations.rates import parse_rate

# Attribute of the DRF request where the throttle leaves its numbers for the response headers.
STATE_ATTRIBUTE = "leadflow_rate_limit"
PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


@dataclass(frozen=True)
class RateLimitState:
    """The caller's allowance in the current window, as the response headers report it."""

    limit: int
    remaining: int
    reset_seconds: int
    period_seconds: int
    subject: str

    def describe_limit(self) -> str:
        return f"{self.limit} requests per {PERIOD_NAMES[self.period_seconds]}"


class ApiKeyRateThrottle(BaseThrottle):
    """Count requests per API key, else per user, else per client IP, in fixed windows.

    The rate is the key's own `rate_limit`, else DEFAULT_THROTTLE_RATES
    "api_key", "user" or "anon". Counting uses the cache's atomic increment,
    so concurrent requests on several workers share one count when the cache is
    Redis. A fixed window can let up to twice the limit through around a
    window boundary; that is the price of one atomic counter per request.
    """

    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self.state: RateLimitState | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        identity, rate, subject = self._identity_and_rate(request)
        if not rate:
            return True

        limit, period = parse_rate(rate)
        now = self.timer()
        window = int(now // period)
        cache_key = f"leadflow:throttle:{identity}:{period}:{window}"
        count = self._increment(cache_key, period)

        self.state = RateLimitState(
            limit=limit,
            remaining=max(0, limit - count),
            reset_seconds=max(1, math.ceil((window + 1) * period - now)),
            period_seconds=period,
            subject=subject,
        )
        setattr(request, STATE_ATTRIBUTE, self.state)
        return count <= limit

    def wait(self) -> float | None:
        return None if self.state is None else self.state.reset_seconds

    def _identity_and_rate(self, request: Request) -> tuple[str, str | None, str]:
        # The DRF stubs type the rates as numbers; they are rate strings such as "600/min".
        rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        if isinstance(request.auth, ApiKey):
            return (
                f"api_key:{request.auth.pk}",
                request.auth.rate_limit or rates.get("api_key"),
                "API key",
            )
        if request.user is not None and request.user.is_authenticated:
            return f"user:{request.user.pk}", rates.get("user"), "user"
        return f"ip:{self.get_ident(request)}", rates.get("anon"), "client address"

    def _increment(self, cache_key: str, period: int) -> int:
        cache = caches[settings.LEADFLOW_THROTTLE_CACHE]
        # The key outlives its window a little, so an increment at the boundary finds it.
        cache.add(cache_key, 0, timeout=period + 5)
        try:
            return int(cache.incr(cache_key))
        except ValueError:
            # The key expired between add and incr; this request opens the window.
            cache.set(cache_key, 1, timeout=period + 5)
            return 1
