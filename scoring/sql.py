"""Set-based rescoring on PostgreSQL: one UPDATE statement per chunk of lead ids.

`build_rescore_statement` turns a compiled rule set into one statement that
aggregates the events of a range of leads per rule (SUM/COUNT ... FILTER),
evaluates the fit rules as CASE expressions over the lead, its account and its
custom attributes, applies rule, group and total caps, builds the breakdown as
jsonb and writes it all in the same UPDATE. Leads without events are scored
too, because the leads table is the left side of the join.

Every value that comes from a rule (texts, numbers, patterns, custom attribute
keys) is a bound parameter. The SQL text contains only column names from the
fixed field catalogue and generated aliases. The numbers follow the same
arithmetic as scoring.engine, and tests compare the two row by row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from leads.models import Account, EngagementEvent, Lead
from leads.normalize import (
    EMPLOYEE_BANDS,
    FREE_MAIL_DOMAINS,
    REVENUE_BANDS_USD,
    employee_band,
    revenue_band,
)
from scoring.engine import EVENT_IDS_IN_BREAKDOWN, MAX_HALF_LIVES, SECONDS_PER_DAY
from scoring.rules import Cap, CompiledRuleSet, EngagementRule, FitRule, ValueType

LEAD_TABLE = Lead._meta.db_table
ACCOUNT_TABLE = Account._meta.db_table
EVENT_TABLE = EngagementEvent._meta.db_table

# The numeric-text test of scoring.engine._as_number, in PostgreSQL's regex dialect.
_NUMERIC_TEXT = r"'^-?[0-9]+(\.[0-9]+)?$'"


class _Params:
    """Bound parameters by generated name, so fragments can be assembled in any order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s::{cast}"


@dataclass
class FieldSql:
    """SQL expressions that read one fit-rule field; None where the field has no such reading."""

    missing: str = "false"
    text: str | None = None
    number: str | None = None
    boolean: str | None = None
    json: str | None = None
    empty: str = "false"


@dataclass
class RescoreStatement:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def execute(
        self,
        *,
        now: datetime,
        first_id: int | None = None,
        last_id: int | None = None,
        lead_ids: Sequence[int] | None = None,
    ) -> list[int]:
        """Rescore leads first_id..last_id (inclusive), or `lead_ids` for a statement built by ids.

        Returns the ids of the leads written. A lead that a newer scoring
        already wrote, or that was marked stale after the statement's
        snapshot, is left as it is and not returned.
        """
        params = {
            **self.params,
            "first_id": first_id,
            "last_id": last_id,
            "lead_ids": list(lead_ids or []),
            "now": now,
        }
        # A transaction of its own when called alone, for the SET LOCAL options; none nested.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            set_local_options(cursor)
            cursor.execute(self.sql, params)
            return [row[0] for row in cursor.fetchall()]


def set_local_options(cursor: Any) -> None:
    """Set the planner options that the generated statements rely on, for this transaction only.

    JIT compilation of the many rule expressions costs seconds and saves nothing
    on a chunk of a few thousand rows. The aggregates keep the newest events
    first by reading them in that order, which holds only without parallel
    workers, because parallel partial aggregates are combined in any order.
    The random page cost of a cached table lets the planner look up a chunk's
    accounts by primary key instead of reading the whole accounts table.
    """
    # One round trip for the three settings.
    cursor.execute(
        "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
        "SET LOCAL random_page_cost = 1.1"
    )


def build_rescore_statement(
    ruleset: CompiledRuleSet, *, by_ids: bool = False, staged_table: str | None = None
) -> RescoreStatement:
    """Generate the UPDATE for one chunk; `first_id`, `last_id` and `now` are bound per chunk.

    With `by_ids` the statement scores the leads of a `lead_ids` list instead
    of a range, as incremental scoring needs for the leads of a batch. With
    `staged_table` it reads the engagement aggregates from that table, filled
    by `build_staging_statement` as of `now`, and writes only leads that are
    not stale: a stale lead may have events that the table does not contain.
    """
    p = _Params()
    version = p(ruleset.version, "integer")
    scores = scoring_query(
        ruleset, p, breakdown=True, version=version, by_ids=by_ids, staged_table=staged_table
    )
    if staged_table is None:
        # A lead marked stale after this chunk's snapshot stays stale, so its new input is scored.
        stale_condition = "NOT (target.score_stale AND NOT result.was_stale)"
    else:
        # Events stored after the staging snapshot mark their lead stale in the same transaction.
        stale_condition = "NOT target.score_stale"
    sql = f"""
UPDATE {LEAD_TABLE} AS target
SET fit_score = result.fit_score,
    engagement_score = result.engagement_score,
    ruleset_version = {version},
    score_breakdown = result.breakdown,
    scored_at = %(now)s::timestamptz,
    score_stale = false
FROM ({scores}) AS result
WHERE target.id = result.lead_id
  -- An incremental rescore that committed after this chunk began read newer events: keep it.
  AND (target.scored_at IS NULL OR target.scored_at <= %(now)s::timestamptz)
  AND {stale_condition}
RETURNING target.id
"""
    return RescoreStatement(sql=sql, params=p.values)


@dataclass
class StagingStatement:
    """The statements that fill a full rescore's table of engagement aggregates per lead."""

    table: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def execute(self, *, now: datetime) -> int:
        """Create and fill the table in the caller's transaction; return the leads with events.

        The caller commits. The table is UNLOGGED: it is not written to the WAL,
        and after a crash of PostgreSQL it is empty. A row with lead_id
        STAGING_COMPLETE_MARK distinguishes a complete table from an emptied one.
        """
        with connection.cursor() as cursor:
            set_staging_options(cursor)
            cursor.execute(self.sql, {**self.params, "now": now})
            rows = int(cursor.rowcount)
            cursor.execute(f"ALTER TABLE {self.table} ADD PRIMARY KEY (lead_id)")
            cursor.execute(
                f"INSERT INTO {self.table} (lead_id) VALUES (%s)", [STAGING_COMPLETE_MARK]
            )
            cursor.execute(f"ANALYZE {self.table}")
        return rows


# Lead ids start at 1, so this id in a staging table marks it as complete.
STAGING_COMPLETE_MARK = 0


def staging_table_name(run_id: int) -> str:
    return f"scoring_rescore_stage_{int(run_id)}"


def staging_table_complete(table: str) -> bool:
    """Return whether `table` exists and still contains its completion mark."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE lead_id = %s)", [STAGING_COMPLETE_MARK]
        )
        row = cursor.fetchone()
        return bool(row and row[0])


def staging_table_drop(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def set_staging_options(cursor: Any) -> None:
    """Set the planner options of the one aggregate over every event, for this transaction only.

    The sort of millions of events gets the memory that the benchmark's floor
    query gets too. Parallel workers may scan and sort the events, because the
    GROUP BY above them reads their merged output in order. PostgreSQL 15 never
    aggregates this statement in parallel: it cannot combine partial array_agg
    results. From version 16 it can, and partial arrays combined in any order
    would lose the newest-first order, so there the statement runs without
    parallel workers.
    """
    server_version: int = connection.pg_version  # type: ignore[attr-defined]
    workers = "" if server_version < 160000 else "SET LOCAL max_parallel_workers_per_gather = 0;"
    cursor.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; {workers}")


def build_staging_statement(ruleset: CompiledRuleSet, *, table: str) -> StagingStatement:
    """Generate the CREATE TABLE ... AS that aggregates every lead's events as of `now`.

    The rows are those of `event_aggregates_query` with details, one per lead
    with events that the rule set counts; `build_rescore_statement` reads them
    by `staged_table`.
    """
    p = _Params()
    aggregates = event_aggregates_query(ruleset, p, with_details=True)
    sql = f"CREATE UNLOGGED TABLE {table} AS SELECT * FROM {aggregates} AS agg"
    return StagingStatement(table=table, sql=sql, params=p.values)


# Score histograms have buckets of ten points: below 0, 0 to 9, ..., 90 to 99, 100 and above.
HISTOGRAM_BUCKETS = 12
HISTOGRAM_SERIES = ("fit_before", "fit_after", "engagement_before", "engagement_after")


@dataclass
class SimulationStatement:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def execute(
        self, *, first_id: int, last_id: int, now: datetime
    ) -> list[tuple[str, int | None, int, list[int] | None]]:
        """Simulate leads first_id..last_id in the caller's transaction, which it does not change.

        Returns rows of (series, bucket, count, lead ids): one per histogram
        bucket with leads, then ("enter", None, count, the first ids) for the
        leads that would become MQL and the same for "leave".
        """
        params = {**self.params, "first_id": first_id, "last_id": last_id, "now": now}
        with connection.cursor() as cursor:
            set_local_options(cursor)
            cursor.execute(self.sql, params)
            return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def build_simulation_statement(
    ruleset: CompiledRuleSet, *, sample_size: int
) -> SimulationStatement:
    """Generate the SELECT that compares a chunk's stored scores with the rule set's scores.

    It reuses the scoring query of the rescore without the breakdown, and
    applies the qualification of scoring.services._qualify. A new lead, or a
    nurture lead with an event after its move to nurture, enters MQL when it
    passes the thresholds or is fast-tracked. An MQL that no longer passes
    counts as leaving, although scores never demote a lead.
    """
    p = _Params()
    scores = scoring_query(ruleset, p, breakdown=False)
    fit_threshold = p(ruleset.fit_threshold, "integer")
    engagement_threshold = p(ruleset.engagement_threshold, "float8")
    histograms = " UNION ALL ".join(
        f"SELECT {p(series, 'text')} AS series, {_bucket(column)} AS bucket, "
        "COUNT(*)::integer AS leads, NULL::bigint[] AS lead_ids "
        f"FROM compared GROUP BY 2"
        for series, column in zip(
            HISTOGRAM_SERIES,
            ("fit_before", "fit_after", "engagement_before", "engagement_after"),
            strict=True,
        )
    )
    sample = p(sample_size, "integer")
    sql = f"""
WITH compared AS MATERIALIZED (
    SELECT l.id, l.status, l.fit_score AS fit_before, l.engagement_score AS engagement_before,
           s.fit_score AS fit_after, s.engagement_score::float8 AS engagement_after,
           (s.fit_score >= {fit_threshold}
            AND (s.engagement_score::float8 >= {engagement_threshold}
                 OR s.fast_track IS NOT NULL)) AS qualifies,
           (l.status = 'new'
            OR (l.status = 'nurture'
                AND (l.status_changed_at IS NULL
                     OR EXISTS (SELECT 1 FROM {EVENT_TABLE} AS later
                                WHERE later.lead_id = l.id
                                  AND later.occurred_at > l.status_changed_at)))) AS may_enter
    FROM ({scores}) AS s
    JOIN {LEAD_TABLE} AS l ON l.id = s.lead_id
)
{histograms}
UNION ALL
SELECT 'enter', NULL, COUNT(*)::integer, (array_agg(id ORDER BY id))[1:{sample}]
FROM compared WHERE may_enter AND qualifies
UNION ALL
SELECT 'leave', NULL, COUNT(*)::integer, (array_agg(id ORDER BY id))[1:{sample}]
FROM compared WHERE status = 'mql' AND NOT qualifies
"""
    return SimulationStatement(sql=sql, params=p.values)


def _bucket(column: str) -> str:
    """Number the histogram bucket of a score as scoring.simulation.histogram_bucket does."""
    return (
        f"CASE WHEN {column} < 0 THEN 0 WHEN {column} >= 100 THEN {HISTOGRAM_BUCKETS - 1} "
        f"ELSE floor({column} / 10)::integer + 1 END"
    )


def scoring_query(
    ruleset: CompiledRuleSet,
    p: _Params,
    *,
    breakdown: bool,
    version: str | None = None,
    by_ids: bool = False,
    staged_table: str | None = None,
) -> str:
    """Build a SELECT that scores the leads `first_id`..`last_id` as of `now` without writing.

    Its columns are lead_id, was_stale, fit_score, engagement_score and
    fast_track (jsonb or NULL), plus breakdown when asked. Each step is a
    subquery behind `OFFSET 0`, which keeps PostgreSQL from pulling it up and
    evaluating an expression once per reference instead of once per row,
    without the cost of materialising a CTE.
    """
    fit_rules = ruleset.fit_rules
    engagement_rules = ruleset.engagement_rules
    fit_groups = ruleset.fit_groups()
    engagement_groups = ruleset.engagement_groups()

    base = _base_query(ruleset, p, with_details=breakdown, by_ids=by_ids, staged_table=staged_table)
    points = [
        f"round({_clamp(f'raw_{index}', _cap_param(rule.cap, p))}, 2) AS pts_{index}"
        for index, rule in enumerate(engagement_rules)
    ]
    group_sums = [
        f"({' + '.join(f'f_{i}' for i, rule in enumerate(fit_rules) if rule.group == group)}) "
        f"AS fg_{number}"
        for number, group in enumerate(fit_groups)
    ] + [
        f"({' + '.join(f'pts_{i}' for i, rule in enumerate(engagement_rules) if rule.group == group)}) "
        f"AS eg_{number}"
        for number, group in enumerate(engagement_groups)
    ]
    group_caps = {
        group: _cap_param(ruleset.group_caps.get(group), p)
        for group in fit_groups + engagement_groups
    }
    capped_groups = [
        f"{_clamp(f'fg_{n}', group_caps[group])} AS fgc_{n}" for n, group in enumerate(fit_groups)
    ] + [
        f"{_clamp(f'eg_{n}', group_caps[group])} AS egc_{n}"
        for n, group in enumerate(engagement_groups)
    ]
    fit_terms = ["0"]
    fit_terms += [f"f_{i}" for i, rule in enumerate(fit_rules) if not rule.group]
    fit_terms += [f"fgc_{n}" for n in range(len(fit_groups))]
    engagement_terms = ["0"]
    engagement_terms += [f"pts_{i}" for i, rule in enumerate(engagement_rules) if not rule.group]
    engagement_terms += [f"egc_{n}" for n in range(len(engagement_groups))]
    sums = [
        f"({' + '.join(fit_terms)}) AS fit_sum",
        f"round({' + '.join(engagement_terms)}, 2) AS engagement_sum",
    ]
    fit_cap = _cap_param(ruleset.fit_cap, p)
    engagement_cap = _cap_param(ruleset.engagement_cap, p)
    totals = [
        f"{_clamp('fit_sum', fit_cap)} AS fit_capped",
        f"{_clamp('engagement_sum', engagement_cap)} AS engagement_capped",
    ]
    scores = [
        "round(fit_capped, 0)::integer AS fit_score",
        "round(engagement_capped, 2) AS engagement_score",
    ]

    query = base
    for step, columns in enumerate((points, group_sums, capped_groups, sums, totals, scores)):
        query = _step(query, f"s{step}", columns)

    output = ["lead_id", "was_stale", "fit_score", "engagement_score", "fast_track"]
    if breakdown:
        output.append(
            _breakdown(
                ruleset,
                p,
                version or p(ruleset.version, "integer"),
                fit_groups,
                engagement_groups,
                group_caps,
                fit_cap,
                engagement_cap,
            )
            + " AS breakdown"
        )
    return f"SELECT {', '.join(output)} FROM ({query}) AS scored"


def _step(query: str, alias: str, columns: list[str]) -> str:
    if not columns:
        return query
    return f"SELECT {alias}.*, {', '.join(columns)} FROM ({query}) AS {alias} OFFSET 0"


def _base_query(
    ruleset: CompiledRuleSet,
    p: _Params,
    *,
    with_details: bool,
    by_ids: bool = False,
    staged_table: str | None = None,
) -> str:
    """Select each lead of the chunk with its fit rule points and its engagement aggregates.

    The aggregates come from the chunk's events, or with `staged_table` from
    the table that `build_staging_statement` filled for every lead at once.
    """
    engagement_rules = ruleset.engagement_rules
    columns = [
        "l.id AS lead_id",
        "l.score_stale AS was_stale",
        "CASE WHEN agg.fast_id IS NULL THEN NULL::jsonb ELSE "
        "jsonb_build_object('kind', agg.fast_kind, 'event_id', agg.fast_id) END AS fast_track",
    ]
    for index, rule in enumerate(ruleset.fit_rules):
        columns.append(
            f"CASE WHEN {fit_condition(rule, p)} THEN {p(rule.points, 'numeric')} ELSE 0 END "
            f"AS f_{index}"
        )
    for index in range(len(engagement_rules)):
        columns += [f"COALESCE(agg.n_{index}, 0) AS n_{index}"]
        columns += [f"COALESCE(agg.raw_{index}, 0.00) AS raw_{index}"]
        if with_details:
            columns += [f"agg.ids_{index}", f"agg.last_{index}"]

    if staged_table is None:
        aggregates = event_aggregates_query(
            ruleset,
            p,
            with_details=with_details,
            lead_condition=_lead_condition("e.lead_id", by_ids),
        )
    else:
        # The chunk's range on the staged rows too, which the join alone does not give the planner.
        aggregates = (
            f"(SELECT * FROM {staged_table} AS staged "
            f"WHERE {_lead_condition('staged.lead_id', by_ids)})"
        )
    return f"""
SELECT {", ".join(columns)}
FROM {LEAD_TABLE} AS l
LEFT JOIN {ACCOUNT_TABLE} AS a ON a.id = l.account_id
LEFT JOIN {aggregates} AS agg ON agg.lead_id = l.id
WHERE {_lead_condition("l.id", by_ids)}
"""


def event_aggregates_query(
    ruleset: CompiledRuleSet, p: _Params, *, with_details: bool, lead_condition: str = "true"
) -> str:
    """Build a parenthesised SELECT of the engagement aggregates per lead as of `now`.

    Its columns are lead_id, fast_kind, fast_id and per engagement rule
    n_<i> (events), raw_<i> (points before caps), and with details ids_<i>
    (newest event ids first) and last_<i>. The events are sorted newest
    first before they are grouped, so the first fast-track event and the
    first ids of each rule are the newest, as the breakdown lists them.
    The sort holds only the columns that the aggregates read, and the decayed
    points are computed above it, only for the events that a rule matches.
    """
    engagement_rules = ruleset.engagement_rules
    age_days = (
        "GREATEST(EXTRACT(EPOCH FROM (%(now)s::timestamptz - e.occurred_at))::float8, "
        f"0::float8) / {SECONDS_PER_DAY!r}::float8"
    )
    sorted_columns = ["e.lead_id", "e.id", "e.occurred_at", "e.kind", f"{age_days} AS age_days"]
    sorted_columns += [
        f"({_event_match(rule, p, source='e', age_days=age_days)}) AS m_{index}"
        for index, rule in enumerate(engagement_rules)
    ]
    aggregates = []
    if ruleset.fast_track_kinds:
        kinds = p(list(ruleset.fast_track_kinds), "text[]")
        window = p(float(ruleset.fast_track_window_days), "float8")
        sorted_columns.append(f"(e.kind = ANY({kinds}) AND {age_days} <= {window}) AS fast")
        aggregates += [
            "(array_agg(ev.kind) FILTER (WHERE ev.fast))[1] AS fast_kind",
            "(array_agg(ev.id) FILTER (WHERE ev.fast))[1] AS fast_id",
        ]
    else:
        aggregates += ["NULL::text AS fast_kind", "NULL::bigint AS fast_id"]
    for index, rule in enumerate(engagement_rules):
        where = f"FILTER (WHERE ev.m_{index})"
        aggregates += [
            f"COUNT(*) {where} AS n_{index}",
            f"round(COALESCE(SUM({_event_points(rule, p)}) {where}, 0), 2) AS raw_{index}",
        ]
        if with_details:
            aggregates += [
                f"(array_agg(ev.id) {where})[1:{EVENT_IDS_IN_BREAKDOWN}] AS ids_{index}",
                f"MAX(ev.occurred_at) {where} AS last_{index}",
            ]

    since = events_since(ruleset)
    since_filter = ""
    if since is not None:
        since_filter = f"AND e.occurred_at >= %(now)s::timestamptz - {p(since, 'interval')}"
    event_kinds = sorted(
        {kind for rule in engagement_rules for kind in rule.kinds} | set(ruleset.fast_track_kinds)
    )
    # The ORDER BY keeps PostgreSQL from merging the subquery into the GROUP BY, so each mark
    # is evaluated once per event, and parallel workers may scan and sort the events.
    return f"""(
    SELECT ev.lead_id, {", ".join(aggregates)}
    FROM (
        -- Sorted here, where GROUP BY can use the order, so no later sort by lead_id alone,
        -- which is not stable, can shuffle the events of a lead.
        SELECT {", ".join(sorted_columns)}
        FROM {EVENT_TABLE} AS e
        WHERE {lead_condition}
          AND e.kind = ANY({p(event_kinds, "text[]")})
          {since_filter}
        ORDER BY e.lead_id, e.occurred_at DESC, e.id DESC
    ) AS ev
    GROUP BY ev.lead_id
)"""


def _lead_condition(column: str, by_ids: bool) -> str:
    if by_ids:
        return f"{column} = ANY(%(lead_ids)s::bigint[])"
    return f"{column} BETWEEN %(first_id)s AND %(last_id)s"


def refresh_account_rollups_sql(
    *,
    first_id: int | None = None,
    last_id: int | None = None,
    account_ids: Sequence[int] | None = None,
) -> int:
    """Recompute the roll-ups of accounts first_id..last_id, or of `account_ids`; return rows changed.

    The accounts are locked in id order first, the order every caller uses,
    so two refreshes that share accounts cannot deadlock. Accounts whose
    numbers did not change are not written.
    """
    condition = (
        "id = ANY(%(account_ids)s::bigint[])"
        if account_ids is not None
        else "id BETWEEN %(first_id)s AND %(last_id)s"
    )
    sql = f"""
WITH locked AS (
    SELECT id FROM {ACCOUNT_TABLE}
    WHERE {condition}
    ORDER BY id
    FOR UPDATE
),
totals AS (
    SELECT locked.id,
           COALESCE(SUM(l.engagement_score), 0) AS engagement_score,
           COUNT(l.id) FILTER (WHERE l.engagement_score > 0) AS engaged_contacts
    FROM locked
    LEFT JOIN {LEAD_TABLE} AS l ON l.account_id = locked.id
    GROUP BY locked.id
)
UPDATE {ACCOUNT_TABLE} AS a
SET engagement_score = totals.engagement_score,
    engaged_contacts = totals.engaged_contacts
FROM totals
WHERE a.id = totals.id
  AND (a.engagement_score <> totals.engagement_score
       OR a.engaged_contacts <> totals.engaged_contacts)
"""
    params = {"first_id": first_id, "last_id": last_id, "account_ids": list(account_ids or [])}
    with connection.cursor() as cursor:
        set_local_options(cursor)
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def events_since(ruleset: CompiledRuleSet) -> timedelta | None:
    """Return the oldest event age that any rule counts plus a day of margin.

    Returns None when some engagement rule has no window, because then every event counts.
    """
    windows = [rule.window_days for rule in ruleset.engagement_rules]
    if any(window is None for window in windows):
        return None
    longest = max([ruleset.fast_track_window_days, *(w for w in windows if w is not None)])
    return timedelta(days=longest + 1)


def _cap_param(cap: Cap | None, p: _Params) -> str | None:
    return None if cap is None else p(cap.value, "numeric")


def _clamp(column: str, cap: str | None) -> str:
    if cap is None:
        return column
    return (
        f"(CASE WHEN {column} > {cap} THEN {cap} WHEN {column} < -{cap} THEN -{cap} "
        f"ELSE {column} END)"
    )


# Engagement rules.


def _event_match(rule: EngagementRule, p: _Params, *, source: str, age_days: str) -> str:
    """Build the condition that an event of the table alias `source` counts for the rule."""
    conditions = [f"{source}.kind = ANY({p(list(rule.kinds), 'text[]')})"]
    if rule.window_days is not None:
        conditions.append(f"{age_days} <= {p(float(rule.window_days), 'float8')}")
    for column, glob in (
        ("url", rule.url_pattern),
        ("asset", rule.asset),
        ("campaign", rule.campaign),
    ):
        if glob is not None:
            conditions.append(f"{source}.{column} ILIKE {p(glob.like, 'text')}")
    return " AND ".join(conditions)


def _event_points(rule: EngagementRule, p: _Params) -> str:
    if rule.half_life_days is None:
        return p(rule.points, "numeric")
    return (
        f"round(({p(rule.points_float, 'float8')} * power(0.5::float8, "
        f"LEAST(ev.age_days / {p(rule.half_life_days, 'float8')}, {MAX_HALF_LIVES!r}::float8)))"
        "::numeric, 6)"
    )


# Fit rules.


def field_sql(rule: FitRule, p: _Params) -> FieldSql:
    scope, name = rule.field.scope, rule.field.name
    if scope == "custom":
        return _custom_sql(p(name, "text"))
    if scope == "lead":
        return _lead_sql(name, p)
    return _account_sql(name, p)


def _lead_sql(name: str, p: _Params) -> FieldSql:
    if name in ("email_domain", "email_is_free_mail"):
        domain = (
            "(CASE WHEN strpos(l.email, '@') > 0 "
            "THEN lower(regexp_replace(l.email, '^.*@', '')) ELSE '' END)"
        )
        if name == "email_domain":
            return FieldSql(text=domain, empty=f"{domain} = ''")
        free_mail = sorted(FREE_MAIL_DOMAINS | set(settings.FREE_MAIL_DOMAINS_EXTRA))
        return FieldSql(boolean=f"({domain} <> '' AND {domain} = ANY({p(free_mail, 'text[]')}))")
    column = f"l.{name}"
    if name in ("email_opt_out", "call_opt_out"):
        return FieldSql(boolean=column)
    if name == "interests":
        return _json_sql(column, missing=f"({column} IS NULL OR jsonb_typeof({column}) = 'null')")
    return FieldSql(missing=f"{column} IS NULL", text=column, empty=f"{column} = ''")


def _account_sql(name: str, p: _Params) -> FieldSql:
    no_account = "a.id IS NULL"
    if name == "has_account":
        return FieldSql(boolean="a.id IS NOT NULL")
    if name in ("employee_band", "revenue_band"):
        column, bands, label = (
            ("a.employee_count", EMPLOYEE_BANDS, employee_band)
            if name == "employee_band"
            else ("a.annual_revenue_usd", REVENUE_BANDS_USD, revenue_band)
        )
        # The label above the last band, as leads.normalize returns it.
        above = label(bands[-1][1] + 1)
        whens = " ".join(
            f"WHEN {column} BETWEEN {p(low, 'bigint')} AND {p(high, 'bigint')} "
            f"THEN {p(band, 'text')}"
            for low, high, band in bands
        )
        text = f"(CASE WHEN {column} IS NULL THEN '' {whens} ELSE {p(above, 'text')} END)"
        return FieldSql(missing=no_account, text=text, empty=f"{text} = ''")
    column = f"a.{name}"
    if name in ("employee_count", "annual_revenue_usd"):
        return FieldSql(missing=f"{column} IS NULL", number=f"{column}::numeric")
    if name in ("processes", "technologies"):
        return _json_sql(
            column, missing=f"({no_account} OR {column} IS NULL OR jsonb_typeof({column}) = 'null')"
        )
    return FieldSql(missing=no_account, text=column, empty=f"{column} = ''")


def _json_sql(value: str, *, missing: str) -> FieldSql:
    return FieldSql(
        missing=missing,
        json=value,
        empty=f"{value} IN ('\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb)",
    )


def _custom_sql(key: str) -> FieldSql:
    value = f"(l.custom_attributes -> {key})"
    text = f"({value} #>> '{{}}')"
    trimmed = f"btrim({text}, ' ')"
    return FieldSql(
        missing=f"({value} IS NULL OR jsonb_typeof({value}) = 'null')",
        text=f"(CASE WHEN jsonb_typeof({value}) = 'string' THEN {text} END)",
        number=(
            f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN {text}::numeric "
            f"WHEN jsonb_typeof({value}) = 'string' AND {trimmed} ~ {_NUMERIC_TEXT} "
            f"THEN {trimmed}::numeric END)"
        ),
        boolean=(
            f"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN {text}::boolean "
            f"WHEN jsonb_typeof({value}) = 'string' AND lower({trimmed}) IN ('true', 'false') "
            f"THEN lower({trimmed}) = 'true' END)"
        ),
        json=value,
        empty=f"{value} IN ('\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb)",
    )


_NEGATED = {"ne": "eq", "not_in": "in", "is_not_empty": "is_empty"}


def fit_condition(rule: FitRule, p: _Params) -> str:
    """Build a boolean expression, never NULL, that is true when the fit rule matches."""
    sql = field_sql(rule, p)
    if rule.op in _NEGATED:
        return f"NOT {_positive_condition(rule, _NEGATED[rule.op], sql, p)}"
    return _positive_condition(rule, rule.op, sql, p)


def _positive_condition(rule: FitRule, op: str, sql: FieldSql, p: _Params) -> str:
    if op == "is_empty":
        return f"COALESCE(({sql.missing}) OR ({sql.empty}), false)"
    test = _value_test(rule, op, sql, p)
    return f"COALESCE(NOT ({sql.missing}) AND ({test}), false)"


def _value_test(rule: FitRule, op: str, sql: FieldSql, p: _Params) -> str:
    # NOTE: rule values are lower-cased by Python's str.lower and columns by PostgreSQL's
    # lower(). They agree on ASCII and accented Latin letters, but not on every character:
    # "İ" becomes "i̇" in Python and "i" in PostgreSQL 15 with C.UTF-8.
    if op in ("eq", "in"):
        if rule.value_type == ValueType.TEXT:
            return f"lower({_need(sql.text, rule)}) = ANY({p(list(rule.values), 'text[]')})"
        if rule.value_type == ValueType.NUMBER:
            return f"{_need(sql.number, rule)} = ANY({p(list(rule.values), 'numeric[]')})"
        return f"{_need(sql.boolean, rule)} = {p(rule.values[0], 'boolean')}"
    if op in ("contains", "contains_any"):
        value = _need(sql.json, rule)
        return (
            f"CASE WHEN jsonb_typeof({value}) = 'array' THEN EXISTS ("
            f"SELECT 1 FROM jsonb_array_elements({value}) AS item(value) "
            "WHERE jsonb_typeof(item.value) = 'string' "
            f"AND lower(item.value #>> '{{}}') = ANY({p(list(rule.values), 'text[]')})) "
            "ELSE false END"
        )
    if op == "gte":
        return f"{_need(sql.number, rule)} >= {p(rule.values[0], 'numeric')}"
    if op == "lte":
        return f"{_need(sql.number, rule)} <= {p(rule.values[0], 'numeric')}"
    if op == "between":
        low, high = rule.values
        return f"{_need(sql.number, rule)} BETWEEN {p(low, 'numeric')} AND {p(high, 'numeric')}"
    if op == "is_true":
        return f"({_need(sql.boolean, rule)}) IS TRUE"
    if op == "is_false":
        return f"({_need(sql.boolean, rule)}) IS FALSE"
    if op == "matches":
        assert rule.regex is not None, "a matches rule always has a compiled regex"
        return f"{_need(sql.text, rule)} ~* {p(rule.regex.postgres, 'text')}"
    raise ValueError(f"Unknown operator {op!r} in rule {rule.id!r}.")


def _need(expression: str | None, rule: FitRule) -> str:
    # Validation only lets an operator meet a field that has the reading it needs.
    if expression is None:
        raise ValueError(f"Rule {rule.id!r}: {rule.op} cannot read {rule.field.path}.")
    return expression


# Breakdown.


def _breakdown(
    ruleset: CompiledRuleSet,
    p: _Params,
    version: str,
    fit_groups: list[str],
    engagement_groups: list[str],
    group_caps: dict[str, str | None],
    fit_cap: str | None,
    engagement_cap: str | None,
) -> str:
    """Build the breakdown as JSON text and convert it to jsonb once.

    jsonb_build_object and to_jsonb cost about 1 µs per call, and each level
    takes nested jsonb values apart again: built that way, the breakdown cost
    twice as much CPU time as the scores in the rescore benchmark's data set.
    Concatenated text parsed once gives the same jsonb value in 40 % less time. The parts that come from the rule set are
    rendered to JSON in Python and bound as parameters.
    """
    fit_entries = [
        f"CASE WHEN f_{i} <> 0 THEN "
        f"'{{' || {_json_members(p, rule=rule.id, label=rule.label, group=rule.group)} || "
        f"',\"points\":' || f_{i} || '}}' END"
        for i, rule in enumerate(ruleset.fit_rules)
    ]
    engagement_entries = [
        f"CASE WHEN pts_{i} <> 0 THEN "
        f"'{{' || {_json_members(p, rule=rule.id, label=rule.label, group=rule.group)} || "
        f"',\"points\":' || pts_{i} || ',\"raw_points\":' || raw_{i} || "
        f"',\"capped\":' || (pts_{i} <> raw_{i}) || ',\"events\":' || n_{i} || "
        f"',\"event_ids\":[' || array_to_string(ids_{i}, ',') || '],\"last_event_at\":\"' || "
        f"{_iso_timestamp(f'last_{i}')} || '\"}}' END"
        for i, rule in enumerate(ruleset.engagement_rules)
    ]

    cap_entries = [
        _cap_entry("rule", rule.id, f"raw_{i}", f"pts_{i}", _cap_param(rule.cap, p), p)
        for i, rule in enumerate(ruleset.engagement_rules)
        if rule.cap is not None
    ]
    cap_entries += [
        _cap_entry("group", group, f"fg_{n}", f"fgc_{n}", group_caps[group], p)
        for n, group in enumerate(fit_groups)
        if group_caps[group] is not None
    ]
    cap_entries += [
        _cap_entry("group", group, f"eg_{n}", f"egc_{n}", group_caps[group], p)
        for n, group in enumerate(engagement_groups)
        if group_caps[group] is not None
    ]
    if fit_cap is not None:
        cap_entries.append(_cap_entry("total", "fit", "fit_sum", "fit_capped", fit_cap, p))
    if engagement_cap is not None:
        cap_entries.append(
            _cap_entry(
                "total", "engagement", "engagement_sum", "engagement_capped", engagement_cap, p
            )
        )

    return (
        f"""('{{"ruleset_version":' || {version} || """
        """',"fit_score":' || fit_score || ',"engagement_score":' || engagement_score || """
        f"""',"fit":' || {_json_array(fit_entries)} || """
        f"""',"engagement":' || {_json_array(engagement_entries)} || """
        f"""',"caps":' || {_json_array(cap_entries)} || """
        """',"fast_track":' || COALESCE(fast_track::text, 'null') || '}')::jsonb"""
    )


def _json_members(p: _Params, **members: Any) -> str:
    """Bind JSON object members with constant values, such as `"rule":"x","label":"y"`."""
    text = ",".join(f"{json.dumps(name)}:{json.dumps(value)}" for name, value in members.items())
    return p(text, "text")


def _cap_entry(scope: str, name: str, raw: str, capped: str, cap: str | None, p: _Params) -> str:
    return (
        f"CASE WHEN {raw} <> {capped} THEN '{{' || {_json_members(p, scope=scope, name=name)} || "
        f"',\"cap\":' || {cap} || ',\"removed\":' || ({raw} - {capped}) || '}}' END"
    )


def _json_array(entries: list[str]) -> str:
    """Build the JSON text of an array of the non-NULL entries, in the order given."""
    if not entries:
        return "'[]'"
    # concat_ws leaves out NULL arguments, which are the entries of rules that gave nothing.
    return f"('[' || concat_ws(',', {', '.join(entries)}) || ']')"


def _iso_timestamp(column: str) -> str:
    """Format a timestamp column as scoring.engine.format_timestamp does.

    The result is ISO 8601 in UTC, with microseconds only when there are any.
    """
    utc = f"({column} AT TIME ZONE 'UTC')"
    micros = f"(EXTRACT(MICROSECONDS FROM {utc})::integer %% 1000000)"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN {micros} = 0 THEN '' ELSE '.' || lpad({micros}::text, 6, '0') END "
        "|| '+00:00'"
    )
