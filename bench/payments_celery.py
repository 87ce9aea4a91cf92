"""The project's Celery app for the `payments` group's worker: `celery -A bench.payments_celery`.

It is `imigrasi.celery.app`, with the same settings and tasks. The only
change is where the tasks the worker itself publishes go: everything but
`payments.tasks.process_webhook` (the receipt PDF, the notifications a
payment sends) is routed to a parking queue that no worker consumes
(`BENCH_PAYMENTS_PARKED_QUEUE`), so that the worker the bench starts decides
the queued webhook events and nothing else, and the parked tasks can be
counted afterwards (`webhook.duplicate_effects`). The web server publishes
with the project's own app, unchanged: its `process_webhook` messages go to
the default queue, the one this worker consumes.
"""

from __future__ import annotations

import os

from imigrasi.celery import app

DECIDE_TASK = "payments.tasks.process_webhook"
PARKED_QUEUE = os.environ.get("BENCH_PAYMENTS_PARKED_QUEUE") or "bench.payments.parked"


def route(name, args, kwargs, options, task=None, **kw):
    """process_webhook to the default queue (None: no opinion), the rest to the parking queue."""
    if name == DECIDE_TASK:
        return None
    return {"queue": PARKED_QUEUE}


app.conf.task_routes = (route,)

__all__ = ["app"]
