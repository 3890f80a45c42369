from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "API keys and webhooks"

    def ready(self) -> None:
        # Registered here, not imported by leads, so dependencies point from integrations to leads.
        # Registers the system check, the OpenAPI extension and the Celery tasks, so that tasks
        # sent by name also run in-process when Celery runs eagerly.
        from integrations import checks, schema, tasks  # noqa: F401
        from integrations.hooks import emit_lead_status_webhooks
        from leads.services import register_after_transition

        register_after_transition(emit_lead_status_webhooks)
