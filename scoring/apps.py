from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        # Registers the tasks with the Celery app in every process, so that the tasks other apps
        # send by name also run in eager mode, where no worker imports them.
        from scoring import tasks  # noqa: F401
