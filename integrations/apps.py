from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "API keys and webhooks"

    def ready(self) -> None:
        # Registered here, not imported by leads, so dependencies point from integrations to leads.
        from integrations import checks, schema  # noqa: F401  (registers the check and extension)
        from integrations.hooks import emit_lead_status_webhooks
        from leads.services import register_after_transition

        register_after_transition(emit_lead_status_webhooks)
