"""Generate the data set of the rescore benchmark in PostgreSQL, set-based and deterministic.

Accounts, leads and events are inserted with INSERT ... SELECT over
generate_series, from a seeded random(). Events come in time order, each
for a random lead, as a tracking pipeline would deliver them, so the events
of one lead are spread over the whole table. The secondary indexes of the
two large tables are dropped during the load and built again afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

SEED = 0.42
# Events span two years, so about half fall outside the default rule set's windows.
EVENT_SPAN_DAYS = 730

SEGMENTS = [
    "automotive",
    "aerospace",
    "industrial_machinery",
    "medical_devices",
    "electronics",
    "energy",
    "chemicals",
    "food_and_beverage",
    "retail",
]
# Cumulative shares of event kinds; page views dominate, as on a real website.
KIND_SHARES = [
    (0.55, "page_view"),
    (0.65, "email_click"),
    (0.72, "email_open"),
    (0.78, "content_download"),
    (0.82, "spec_sheet_download"),
    (0.85, "cad_download"),
    (0.88, "webinar_attended"),
    (0.90, "trade_show_visit"),
    (0.915, "quote_request"),
    (0.925, "sample_request"),
    (0.935, "demo_request"),
    (0.94, "meeting_request"),
    (0.945, "technical_consultation"),
    (0.95, "unsubscribe"),
    (1.0, "website_visit"),
]
# Sales and marketing have moved some leads already; nurture leads moved there 200 days ago.
STATUSES = ["new"] * 6 + ["mql", "sql", "nurture", "disqualified"]
PAGES = [
    "/products/gearbox-7/",
    "/products/servo-2/",
    "/pricing",
    "/careers",
    "/jobs/1234",
    "/blog/cnc-tips",
    "/",
]


@dataclass(frozen=True)
class DataSize:
    leads: int
    events: int

    @property
    def accounts(self) -> int:
        return max(self.leads // 4, 1)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def _pick(values: list[str], random_column: str = "random()") -> str:
    return f"({_array(values)})[1 + floor({random_column} * {len(values)})::int]"


def generate(cursor: Any, size: DataSize) -> None:
    """Insert the accounts, leads and events; the tables must be empty.

    Foreign-key triggers are off during the load (the generated rows are
    consistent by construction), which needs a superuser such as postgres.
    """
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("SELECT setseed(%s)", [SEED])
    saved = _drop_secondary_indexes(cursor, ["leads_lead", "leads_engagementevent"])

    logger.info("Inserting %s accounts", size.accounts)
    cursor.execute(
        f"""
INSERT INTO leads_account (name, domain, segment, facility_type, country, region, city,
    employee_count, annual_revenue_usd, processes, technologies, custom_attributes,
    engagement_score, engaged_contacts, created_at, updated_at)
SELECT 'Plant ' || g, 'plant-' || g || '.example',
    {_pick(SEGMENTS)},
    {_pick(["plant", "rd_lab", "headquarters", "distribution_centre"])},
    'Germany',
    {_pick(["europe", "north_america", "asia_pacific", "latin_america"])},
    '',
    (ARRAY[20, 120, 400, 2000, 8000])[1 + floor(random() * 5)::int],
    (ARRAY[5000000, 80000000, 400000000, 2000000000]::bigint[])[1 + floor(random() * 4)::int],
    {_pick(['["cnc_machining"]', '["injection_moulding", "sheet_metal"]', "[]", '["welding"]'])}::jsonb,
    {_pick(['["erp"]', '["mes", "plm"]', "[]"])}::jsonb,
    '{{}}', 0, 0, now(), now()
FROM generate_series(1, %(accounts)s) AS g
""",
        {"accounts": size.accounts},
    )

    logger.info("Inserting %s leads", size.leads)
    cursor.execute(
        f"""
INSERT INTO leads_lead (email, source_system, first_name, last_name, job_title, job_function,
    seniority, phone, company_name, country, region, city, first_touch_source,
    first_touch_medium, first_touch_campaign, last_touch_source, last_touch_medium,
    last_touch_campaign, interests, email_opt_out, call_opt_out, marketing_notes,
    custom_attributes, status, fit_score, engagement_score, score_breakdown, score_stale,
    status_changed_at, created_at, updated_at, account_id)
SELECT
    CASE WHEN g %% 10 = 0 THEN 'lead' || g || '@gmail.com'
         ELSE 'lead' || g || '@plant-' || (1 + g %% %(accounts)s) || '.example' END,
    '', 'Dana', 'Keller' || g, 'Engineer',
    {_pick(["engineering", "operations", "procurement", "quality", "sales", "student", "marketing"])},
    {_pick(["individual", "manager", "director", "vp", "c_level"])},
    '', '', 'Germany', 'europe', '', 'google', 'cpc', '', '', '', '', '[]', false, false, '',
    '{{}}', status, 0, 0, '{{}}', true,
    CASE WHEN status = 'nurture' THEN now() - interval '200 days' END, now(), now(),
    CASE WHEN g %% 10 = 0 THEN NULL ELSE bounds.first_account + g %% %(accounts)s END
FROM (SELECT g, {_pick(STATUSES)} AS status FROM generate_series(1, %(leads)s) AS g) AS numbered,
     (SELECT min(id) AS first_account FROM leads_account) AS bounds
""",
        {"accounts": size.accounts, "leads": size.leads},
    )

    logger.info("Inserting %s events", size.events)
    kinds = " ".join(f"WHEN r < {share} THEN '{kind}'" for share, kind in KIND_SHARES)
    cursor.execute(
        f"""
INSERT INTO leads_engagementevent (kind, url, asset, campaign, occurred_at, properties,
    external_id, source, received_at, lead_id)
SELECT kind,
    CASE WHEN kind = 'page_view' THEN 'https://www.example.com' || {_pick(PAGES, "r2")} ELSE '' END,
    '', '', at, '{{}}', 'bench-' || g, 'bench', at, bounds.first_lead + floor(r3 * %(leads)s)::bigint
FROM (
    SELECT g, r2, r3,
           now() - interval '{EVENT_SPAN_DAYS} days' * (1 - g / %(events)s::float8) AS at,
           CASE {kinds} END AS kind
    FROM (SELECT g, random() AS r, random() AS r2, random() AS r3
          FROM generate_series(1, %(events)s) AS g) AS raw
) AS generated,
(SELECT min(id) AS first_lead FROM leads_lead) AS bounds
""",
        {"leads": size.leads, "events": size.events},
    )

    _restore_indexes(cursor, saved)
    cursor.execute("SET session_replication_role = origin")


def _drop_secondary_indexes(cursor: Any, tables: list[str]) -> list[str]:
    """Drop the indexes that back no constraint; return their definitions."""
    cursor.execute(
        """
SELECT i.indexname, i.indexdef FROM pg_indexes AS i
WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)
""",
        [tables],
    )
    rows = cursor.fetchall()
    for name, _ in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _restore_indexes(cursor: Any, definitions: list[str]) -> None:
    logger.info("Building %s indexes", len(definitions))
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for definition in definitions:
        cursor.execute(definition)
