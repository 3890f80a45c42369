"""Read queries and display shapes for the lead pages (MQL queue and lead detail).

The API has its own selectors in leads.selectors. These shape data for templates:
score bands, the top reasons of a score, the merged timeline and the breakdown tables.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.dateparse import parse_datetime

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, user_roles
from leads.models import EngagementEvent, Lead, LeadStatus, StatusChange

# Roles that may open any lead; a sales rep opens only the leads they own.
ALL_LEADS_ROLES = frozenset({MARKETING, REVOPS, SALES_MANAGER})

# Columns the queue reads. Everything a row shows must be listed, or each row costs a query.
QUEUE_FIELDS = (
    "id",
    "email",
    "source_system",
    "external_id",
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "region",
    "first_touch_source",
    "status",
    "status_changed_at",
    "fit_score",
    "engagement_score",
    "score_breakdown",
    "account__id",
    "account__name",
    "account__segment",
)


@dataclass(frozen=True)
class ScoreBand:
    """A letter grade for the pair of scores; a lead gets the first band whose minimums it meets."""

    code: str
    min_fit: int
    min_engagement: int

    @property
    def short_description(self) -> str:
        if not self.min_fit and not self.min_engagement:
            return f"{self.code} · the rest"
        if self.min_fit == self.min_engagement:
            return f"{self.code} · both scores ≥ {self.min_fit}"
        return f"{self.code} · fit ≥ {self.min_fit}, engagement ≥ {self.min_engagement}"

    @property
    def description(self) -> str:
        if not self.min_fit and not self.min_engagement:
            return f"{self.code}: any lead below the bands above"
        return f"{self.code}: fit ≥ {self.min_fit} and engagement ≥ {self.min_engagement}"

    def condition(self) -> Q:
        return Q(fit_score__gte=self.min_fit, engagement_score__gte=self.min_engagement)


# Ordered from best to worst. The cut-offs also colour single scores on the pages
# (see score_level), so a reader sees the same boundaries everywhere.
SCORE_BANDS = (
    ScoreBand("A", 70, 70),
    ScoreBand("B", 50, 50),
    ScoreBand("C", 30, 30),
    ScoreBand("D", 0, 0),
)
SCORE_BANDS_BY_CODE = {band.code: band for band in SCORE_BANDS}


def score_band(fit_score: float, engagement_score: float) -> ScoreBand:
    for band in SCORE_BANDS:
        if fit_score >= band.min_fit and engagement_score >= band.min_engagement:
            return band
    return SCORE_BANDS[-1]


def score_band_condition(code: str) -> Q:
    """Build the filter for one band: its own minimums, excluding every better band."""
    condition = Q()
    for band in SCORE_BANDS:
        if band.code == code:
            return condition & band.condition()
        condition &= ~band.condition()
    raise ValueError(f"Unknown score band {code!r}; use one of {', '.join(SCORE_BANDS_BY_CODE)}.")


def score_level(score: float) -> str:
    """Name the colour of a single score, using the band cut-offs 70, 50 and 30."""
    if score >= 70:
        return "high"
    if score >= 50:
        return "mid"
    if score >= 30:
        return "low"
    return "minimal"


# --- Permissions as query scopes -------------------------------------------------------------


def visible_leads(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    """Scope leads to what the user may open: all for marketing, revops and sales managers,
    the leads they own for a sales rep, none for anyone else."""
    roles = user_roles(user)
    if roles & ALL_LEADS_ROLES:
        return Lead.objects.all()
    if SALES in roles:
        return Lead.objects.filter(owner_id=user.pk)
    return Lead.objects.none()


# --- MQL queue -------------------------------------------------------------------------------


def queue_leads() -> QuerySet[Lead]:
    """Return the leads waiting in the MQL queue, with their account joined in.

    A lead sent to sales stays MQL until a rep decides, so `with_sales` marks a pending handoff.
    The handoff model is looked up by name because handoff depends on leads, not the reverse.
    """
    pending_handoffs = apps.get_model("handoff", "Handoff").objects.filter(
        lead=OuterRef("pk"), status="pending"
    )
    return (
        Lead.objects.filter(status=LeadStatus.MQL)
        .select_related("account")
        .only(*QUEUE_FIELDS)
        .annotate(with_sales=Exists(pending_handoffs))
    )


@dataclass(frozen=True)
class QueueFilterOptions:
    """The distinct values the queue's filters offer, taken from the leads now in the queue."""

    segments: list[str]
    regions: list[str]
    sources: list[str]


def queue_filter_options() -> QueueFilterOptions:
    if connection.vendor == "postgresql":
        return QueueFilterOptions(
            segments=_mql_segments_postgres(),
            regions=_mql_distinct_postgres("region"),
            sources=_mql_distinct_postgres("first_touch_source"),
        )
    mql = Lead.objects.filter(status=LeadStatus.MQL)
    return QueueFilterOptions(
        segments=_distinct(mql.filter(account__isnull=False), "account__segment"),
        regions=_distinct(mql, "region"),
        sources=_distinct(mql, "first_touch_source"),
    )


# A DISTINCT over the MQL leads reads every one of them, some 40 ms for 80,000. These
# queries hop from one value to the next through an index instead ("skip scan"), so they
# read one index entry per distinct value. The segment query then looks for one account
# with an MQL lead per segment, and LATERAL … LIMIT 1 stops at the first. With a plain
# EXISTS the planner joined all 80,000 MQL leads to their accounts: 58 ms against 0.3 ms
# with 1,000,000 leads and 20,000 accounts.
_MQL_DISTINCT_SQL = """
WITH RECURSIVE found (value) AS (
    (SELECT {column} FROM leads_lead WHERE status = 'mql' AND {column} > ''
     ORDER BY {column} LIMIT 1)
    UNION ALL
    SELECT (SELECT {column} FROM leads_lead WHERE status = 'mql' AND {column} > found.value
            ORDER BY {column} LIMIT 1)
    FROM found WHERE found.value IS NOT NULL
)
SELECT value FROM found WHERE value IS NOT NULL ORDER BY value
"""
_MQL_SEGMENTS_SQL = """
WITH RECURSIVE found (value) AS (
    (SELECT segment FROM leads_account WHERE segment > '' ORDER BY segment LIMIT 1)
    UNION ALL
    SELECT (SELECT segment FROM leads_account WHERE segment > found.value
            ORDER BY segment LIMIT 1)
    FROM found WHERE found.value IS NOT NULL
)
SELECT value FROM found
CROSS JOIN LATERAL (
    SELECT 1 FROM leads_account account
    WHERE account.segment = found.value AND EXISTS (
        SELECT 1 FROM leads_lead lead WHERE lead.account_id = account.id AND lead.status = 'mql'
    )
    LIMIT 1
) AS with_mql_lead
WHERE value IS NOT NULL
ORDER BY value
"""
_MQL_DISTINCT_COLUMNS = frozenset({"region", "first_touch_source"})


def _mql_distinct_postgres(column: str) -> list[str]:
    if column not in _MQL_DISTINCT_COLUMNS:
        raise ValueError(f"No index serves the distinct values of {column!r}.")
    with connection.cursor() as cursor:
        cursor.execute(_MQL_DISTINCT_SQL.format(column=column))
        return [value for (value,) in cursor.fetchall()]


def _mql_segments_postgres() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_MQL_SEGMENTS_SQL)
        return [value for (value,) in cursor.fetchall()]


def _distinct(queryset: QuerySet[Lead], field_name: str) -> list[str]:
    values = (
        queryset.exclude(**{field_name: ""})
        .order_by(field_name)
        .values_list(field_name, flat=True)
        .distinct()
    )
    return list(values)


@dataclass(frozen=True)
class ScoreReason:
    """One rule's contribution to a lead's score, as the queue lists it."""

    label: str
    points: float
    scope: str  # "fit" or "engagement"

    @property
    def is_negative(self) -> bool:
        return self.points < 0


def top_reasons(breakdown: dict[str, Any] | None, limit: int = 3) -> list[ScoreReason]:
    """Pick the rules that moved the scores most, by absolute points, fit and engagement alike.

    Ties keep the order of the breakdown, fit rules first.
    """
    reasons = [
        ScoreReason(label=row.label, points=row.points, scope=scope)
        for scope in ("fit", "engagement")
        for row in _rule_rows(breakdown, scope)
        if row.points
    ]
    return heapq.nlargest(limit, reasons, key=lambda reason: abs(reason.points))


# --- Lead detail -----------------------------------------------------------------------------


def lead_for_page(*, user: AbstractBaseUser | AnonymousUser, lead_id: int) -> Lead | None:
    """Load a lead with its account and owner, or None if it does not exist or the user may
    not see it. Both cases look the same, so a rep cannot probe for colleagues' leads."""
    return (
        visible_leads(user)
        .select_related("account", "account__owner", "owner")
        .filter(pk=lead_id)
        .first()
    )


# The lead edit page suggests up to this many existing product categories.
MAX_INTEREST_SUGGESTIONS = 300
# Each reads every lead's interests, one sequential scan of the lead table without an index.
_INTEREST_SUGGESTIONS_SQL = {
    "postgresql": (
        "SELECT DISTINCT interest FROM {table}, "
        "jsonb_array_elements_text(CASE WHEN jsonb_typeof(interests) = 'array' "
        "THEN interests ELSE '[]'::jsonb END) AS interest ORDER BY interest LIMIT %s"
    ),
    "sqlite": (
        "SELECT DISTINCT item.value FROM {table}, json_each({table}.interests) AS item "
        "WHERE json_type({table}.interests) = 'array' AND item.type = 'text' "
        "ORDER BY item.value LIMIT %s"
    ),
}


def interest_suggestions() -> list[str]:
    """Return the distinct product categories stored on leads, sorted, for the edit page.

    NOTE: the query reads every lead's interests. For 10,000 leads with three interests
    each it took about 10 ms on PostgreSQL on a 2-core VM, an estimate from one run. A much
    larger table would need the values kept in a table of their own.
    """
    sql = _INTEREST_SUGGESTIONS_SQL.get(connection.vendor)
    if sql is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=Lead._meta.db_table), [MAX_INTEREST_SUGGESTIONS])
        return [value for (value,) in cursor.fetchall() if isinstance(value, str) and value]


@dataclass(frozen=True)
class RuleRow:
    """One line of a breakdown table: a rule and what it gave."""

    rule: str
    label: str
    group: str
    points: float
    raw_points: float | None = None
    capped: bool = False
    events: int | None = None
    event_ids: tuple[int, ...] = ()
    last_event_at: datetime | None = None


@dataclass(frozen=True)
class CapRow:
    scope: str
    name: str
    cap: float | None
    removed: float


@dataclass(frozen=True)
class BreakdownView:
    """A lead's stored score breakdown, parsed for the page; empty when the lead is unscored."""

    is_scored: bool
    ruleset_version: int | None = None
    fit: list[RuleRow] = field(default_factory=list)
    engagement: list[RuleRow] = field(default_factory=list)
    caps: list[CapRow] = field(default_factory=list)
    fast_track_kind: str = ""
    fast_track_event_id: int | None = None

    @property
    def fast_track_label(self) -> str:
        return _event_kind_label(self.fast_track_kind)

    def rules_by_event(self) -> dict[int, list[str]]:
        """Map each event id the breakdown cites to the labels of the rules that counted it."""
        labels: dict[int, list[str]] = {}
        for row in self.engagement:
            for event_id in row.event_ids:
                labels.setdefault(event_id, []).append(row.label)
        return labels


def score_breakdown_for_page(lead: Lead) -> BreakdownView:
    """Parse the stored breakdown (shape documented in docs/scoring.md) for display.

    The breakdown is written by the scoring engine; a missing or malformed part shows as
    empty rather than failing the page.
    """
    breakdown = lead.score_breakdown if isinstance(lead.score_breakdown, dict) else {}
    if not breakdown:
        return BreakdownView(is_scored=lead.scored_at is not None)

    fast_track = breakdown.get("fast_track")
    if not isinstance(fast_track, dict):
        fast_track = {}
    return BreakdownView(
        is_scored=True,
        ruleset_version=_as_int(breakdown.get("ruleset_version")) or lead.ruleset_version,
        fit=_rule_rows(breakdown, "fit"),
        engagement=_rule_rows(breakdown, "engagement"),
        caps=[
            CapRow(
                scope=str(item.get("scope", "")),
                name=str(item.get("name", "")),
                cap=_as_float(item.get("cap")),
                removed=_as_float(item.get("removed")) or 0.0,
            )
            for item in _dict_items(breakdown.get("caps"))
        ],
        fast_track_kind=str(fast_track.get("kind") or ""),
        fast_track_event_id=_as_int(fast_track.get("event_id")),
    )


def _rule_rows(breakdown: dict[str, Any] | None, scope: str) -> list[RuleRow]:
    if not isinstance(breakdown, dict):
        return []
    rows = []
    for item in _dict_items(breakdown.get(scope)):
        event_ids = item.get("event_ids")
        rows.append(
            RuleRow(
                rule=str(item.get("rule", "")),
                label=str(item.get("label") or item.get("rule") or "Unnamed rule"),
                group=str(item.get("group") or ""),
                points=_as_float(item.get("points")) or 0.0,
                raw_points=_as_float(item.get("raw_points")),
                capped=bool(item.get("capped")),
                events=_as_int(item.get("events")),
                event_ids=tuple(
                    value
                    for value in (_as_int(raw) for raw in event_ids or [])
                    if value is not None
                )
                if isinstance(event_ids, list)
                else (),
                last_event_at=parse_datetime(str(item["last_event_at"]))
                if item.get("last_event_at")
                else None,
            )
        )
    return rows


def _dict_items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _event_kind_label(kind: str) -> str:
    labels = dict(EngagementEvent.Kind.choices)
    return str(labels.get(kind, kind.replace("_", " ").capitalize()))


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline: an engagement event or a status change."""

    at: datetime
    event: EngagementEvent | None = None
    change: StatusChange | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    total: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.total > len(self.entries)


TIMELINE_PAGE_SIZE = 20
# Keeps a hand-edited ?timeline= from loading a lead's whole event history at once.
TIMELINE_MAX_LIMIT = 500


def lead_timeline(*, lead: Lead, limit: int = TIMELINE_PAGE_SIZE) -> Timeline:
    """Merge the lead's engagement events and status changes, newest first, up to `limit`.

    Reads at most `limit` rows of each kind, because the newest `limit` of the merge can
    only come from the newest `limit` of each.
    """
    limit = max(1, min(limit, TIMELINE_MAX_LIMIT))

    events = list(EngagementEvent.objects.filter(lead=lead).order_by("-occurred_at", "-id")[:limit])
    changes = list(
        StatusChange.objects.filter(lead=lead)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    total = (
        EngagementEvent.objects.filter(lead=lead).count()
        + StatusChange.objects.filter(lead=lead).count()
    )

    merged = heapq.merge(
        (TimelineEntry(at=event.occurred_at, event=event) for event in events),
        (TimelineEntry(at=change.created_at, change=change) for change in changes),
        key=lambda entry: entry.at,
        reverse=True,
    )
    return Timeline(entries=list(merged)[:limit], total=total, limit=limit)
