"""The Celery app: broker and task settings come from Django settings (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imigrasi.settings")

app = Celery("imigrasi")


@task_prerun.connect
@task_postrun.connect
def _drop_broken_connections(**kwargs) -> None:
    # Connections are reused between tasks (CELERY_DB_REUSE_MAX); as Django
    # does between requests, drop one that failed or passed CONN_MAX_AGE.
    from django.db import close_old_connections, connection

    task = kwargs.get("task")
    if (task is not None and task.request.is_eager) or connection.in_atomic_block:
        return  # inline in a request or test: that connection is not ours to drop
    close_old_connections()


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
