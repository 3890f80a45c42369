"""Settings for every environment, read from environment variables.

With nothing set, Leadflow runs on an SQLite file with Celery tasks executed
eagerly in-process, so a first run needs no server. `DATABASE_URL` switches to
PostgreSQL and `CELERY_BROKER_URL` to a Redis broker (and Redis cache).
"""

import os
from pathlib import Path

import dj_database_url
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "leadflow-insecure-development-key")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leads",
    "scoring",
    "handoff",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadflow.context_processors.roles",
                "handoff.context_processors.navigation",
            ],
        },
    },
]

# SQLite file by default; DATABASE_URL (postgres://…) for the production way.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'leadflow.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if not IS_POSTGRES:
    # The dev server and Celery's eager mode share the file; wait up to 20 s for a lock instead
    # of failing. IMMEDIATE takes the write lock when a transaction begins, so the wait applies.
    # A deferred transaction that reads first and then writes fails at once with "database is
    # locked" when another connection writes meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Celery: without a broker every task runs eagerly in the calling process.
BROKER_CONFIGURED = bool(os.environ.get("CELERY_BROKER_URL"))
# Without a broker, tasks run eagerly; "memory://" keeps any stray publish inside the process
# instead of reaching Celery's default AMQP broker on localhost.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL if BROKER_CONFIGURED else None
)
CELERY_TASK_ALWAYS_EAGER = not BROKER_CONFIGURED
# An eager task runs after the request's commit, in the request. Off, its error is logged
# (leadflow.celery) and the committed request still succeeds; a lead whose scoring failed keeps
# its stale flag for the sweep. The test suite turns it on so that task errors fail tests.
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Scoring's tasks have their own queue, which a worker without -Q consumes beside the default
# one, taking from each in turn. A full rescore's next task and incremental batches then wait
# at most for the task the worker is running, not for the thousands of webhook deliveries
# that a rescore's new MQLs queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("scoring"), Queue("celery"))
CELERY_TASK_ROUTES = {"scoring.*": {"queue": "scoring"}}
# Leads per chunk of a full rescore run by a worker; each chunk is one transaction.
LEADFLOW_RESCORE_CHUNK_SIZE = int(os.environ.get("LEADFLOW_RESCORE_CHUNK_SIZE", "5000"))
CELERY_BEAT_SCHEDULE = {
    "scoring-sweep-stale-leads": {
        "task": "scoring.sweep_stale_leads",
        "schedule": 60.0,
    },
    "integrations-retry-due-webhooks": {
        "task": "integrations.retry_due_webhooks",
        "schedule": 60.0,
    },
    "integrations-purge-idempotency-records": {
        "task": "integrations.purge_idempotency_records",
        "schedule": 3600.0,
    },
    # Overdue handoffs are escalated within five minutes of their due time.
    "handoff-escalate-overdue": {
        "task": "handoff.escalate_overdue",
        "schedule": 300.0,
    },
}

REDIS_URL = os.environ.get(
    "REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # HasScope lets session and token users through and limits API keys to the scopes a view
    # declares. A view that declares no scopes rejects API keys. See docs/api.md.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "integrations.permissions.HasScope",
    ],
    # Used by integrations.throttling.ApiKeyRateThrottle; an API key's own rate_limit wins.
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("LEADFLOW_API_KEY_RATE", "600/min"),
        "user": os.environ.get("LEADFLOW_API_USER_RATE", "1200/min"),
        "anon": os.environ.get("LEADFLOW_API_ANON_RATE", "60/min"),
    },
    # Lists reject unknown query parameters with 400 (StrictQueryParamsFilter must stay first),
    # sort by one of the view's ordering_fields and search its search_fields. See leadflow/api.py.
    "DEFAULT_FILTER_BACKENDS": [
        "leadflow.api.StrictQueryParamsFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
        "leadflow.api.StrictSearchFilter",
        "leadflow.api.StrictOrderingFilter",
    ],
    # orjson writes the same JSON as DRF's renderer in a fraction of the time; see the module.
    "DEFAULT_RENDERER_CLASSES": [
        "leadflow.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Numbered pages for short lists; leads and events use leadflow.api.KeysetCursorPagination.
    "DEFAULT_PAGINATION_CLASS": "leadflow.api.ApiPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "integrations.schema.PublicApiAutoSchema",
    "DEFAULT_METADATA_CLASS": "leadflow.api.ApiMetadata",
    "EXCEPTION_HANDLER": "leadflow.errors.api_exception_handler",
}

# Cache alias of the throttle counters. It is Redis when REDIS_URL or a Redis broker is set.
LEADFLOW_THROTTLE_CACHE = "default"

# Idempotency-Key records are kept TTL_SECONDS (24 hours). A second identical request waits
# WAIT_SECONDS for the first to finish before it gets 409. A lock older than LOCK_SECONDS
# belongs to a request that died, so a retry takes it over.
LEADFLOW_IDEMPOTENCY_TTL_SECONDS = int(os.environ.get("LEADFLOW_IDEMPOTENCY_TTL_SECONDS", "86400"))
LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("LEADFLOW_IDEMPOTENCY_WAIT_SECONDS", "2"))
LEADFLOW_IDEMPOTENCY_LOCK_SECONDS = int(os.environ.get("LEADFLOW_IDEMPOTENCY_LOCK_SECONDS", "120"))

# Webhook deliveries: after failed attempt n the next one waits RETRY_BASE_SECONDS * 2^(n-1),
# at most RETRY_MAX_DELAY_SECONDS. After MAX_ATTEMPTS attempts a delivery is failed. The
# defaults spread 8 attempts over about 2 hours (7,620 s of waits). TIMEOUT_SECONDS bounds
# each request.
LEADFLOW_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("LEADFLOW_WEBHOOK_MAX_ATTEMPTS", "8"))
LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS = int(
    os.environ.get("LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS", "60")
)
LEADFLOW_WEBHOOK_RETRY_MAX_DELAY_SECONDS = int(
    os.environ.get("LEADFLOW_WEBHOOK_RETRY_MAX_DELAY_SECONDS", "7200")
)
# Webhooks to loopback, private and link-local addresses (such as a cloud metadata service) are
# refused unless this is set, for receivers on the same private network.
LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
LEADFLOW_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("LEADFLOW_WEBHOOK_TIMEOUT_SECONDS", "10"))

SPECTACULAR_SETTINGS = {
    "TITLE": "Leadflow API",
    "DESCRIPTION": "Leads, engagement events, scores and handoffs for B2B manufacturers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Operation ids and tags start after the version: "leads_list" under the tag "leads".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # One name per choice set that several fields share, instead of generated hash names.
    # Request bodies are documented as JSON only, the one format the API promises. The
    # integrations endpoints still parse form data too, which the schema does not offer.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "leadflow.api.require_query_values",
    ],
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.LeadStatus",
        "RuleSetStatusEnum": "scoring.models.RuleSet.Status",
        # Rescore runs and simulations share one set of statuses.
        "ScoringJobStatusEnum": "scoring.models.RescoreRun.Status",
        "EventKindEnum": "leads.models.EventKind",
        "WebhookEventTypeEnum": "integrations.models.WebhookEventType",
        "WebhookDeliveryStatusEnum": "integrations.models.WebhookDelivery.Status",
        "HandoffStatusEnum": "handoff.models.HandoffStatus",
        "RejectReasonEnum": "handoff.models.RejectReason",
        "OutcomeReasonEnum": "handoff.models.OutcomeReason",
    },
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Domains of free e-mail providers: a lead on one of them never links to an account.
FREE_MAIL_DOMAINS_EXTRA = env_list("LEADFLOW_FREE_MAIL_DOMAINS", "")
