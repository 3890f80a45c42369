"""The Celery application; tasks live in each app's tasks.py."""

import logging
import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_failure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")

logger = logging.getLogger(__name__)

app = Celery("leadflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_failure.connect
def log_eager_task_failure(
    sender: Task | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    **kwargs: Any,
) -> None:
    """Log the arguments of a task that failed while running eagerly, in the calling process.

    Without a broker, tasks run after the request's commit, and with eager propagation
    off their error reaches no caller. Tasks take ids as arguments, so this line names
    the leads or runs to retry; Celery's own log line carries the traceback.
    """
    if sender is None or not sender.request.is_eager:
        return
    logger.error(
        "Task %s %s failed in the calling process for arguments %s: %r",
        sender.name,
        task_id,
        args,
        exception,
        extra={"task_id": task_id},
    )
