"""Demo data for `make run`: users per role and a generated manufacturing business."""

from leads.demo.generator import (
    DEFAULT_SEED,
    DEMO_SOURCE_SYSTEM,
    DemoSummary,
    demo_data_delete,
    demo_data_exists,
    demo_data_generate,
    demo_mql_dates_set,
)
from leads.demo.users import DEMO_PASSWORD, DEMO_USERS, DemoUser, demo_users_ensure

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_SOURCE_SYSTEM",
    "DEMO_USERS",
    "DemoSummary",
    "DemoUser",
    "demo_data_delete",
    "demo_data_exists",
    "demo_data_generate",
    "demo_mql_dates_set",
    "demo_users_ensure",
]
