"""The project's Celery app on the bench's own queue: `celery -A bench.notify_celery worker`.

It is `imigrasi.celery.app`, with the same settings and tasks; only the
default queue is `BENCH_CELERY_QUEUE`, so that the worker the bench starts
neither takes tasks from a development worker's queue nor leaves its own
retries on it, and a development worker never takes the bench's tasks. Its
processes also know the bench's event, as every process knows every event
in production.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from imigrasi.celery import app

if os.environ.get("BENCH_CELERY_QUEUE"):
    app.conf.task_default_queue = os.environ["BENCH_CELERY_QUEUE"]


@worker_process_init.connect(weak=False)
def _register_bench_event(**kwargs) -> None:
    """The bench's event exists in the worker too, as every event does in production."""
    from bench.notify_driver import register_event

    register_event()


__all__ = ["app"]
