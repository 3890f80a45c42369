from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "handoff"
    verbose_name = "Sales handoff"

    def ready(self) -> None:
        # Register the tasks in every process, so callers that enqueue them by name (scoring,
        # Celery beat) find them in eager mode too, not only in a worker that autodiscovers them.
        from handoff import tasks  # noqa: F401
        from handoff.guards import reject_move_past_open_handoff
        from leads.services import register_transition_guard

        register_transition_guard(reject_move_past_open_handoff)
