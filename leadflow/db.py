"""Database helpers shared by the bulk operations of several apps."""

from __future__ import annotations

import logging

from django.db import connection
from django.db.models import Model

logger = logging.getLogger(__name__)


def refresh_planner_statistics(*models: type[Model]) -> None:
    """Run ANALYZE on the tables of `models` when the database is PostgreSQL.

    After a bulk load the planner statistics still describe the tables as they were,
    often empty, until autovacuum catches up after the commit. The set-based scoring
    that follows then plans nested loops over tables it believes empty: seed_demo's
    rescore took 230 s instead of 3 s, and a Leads.csv import followed by a rescore
    in one transaction ran for minutes. ANALYZE also counts the rows the current
    transaction wrote, so calling this before the commit helps.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    logger.debug("Planner statistics refreshed for %s", ", ".join(m.__name__ for m in models))
