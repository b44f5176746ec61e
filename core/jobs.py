"""Enqueueing Celery tasks by name, so services never import tasks.

Tasks import services; a service that wants work done in the background asks for the
task by its registered name after commit. A broker outage is logged, never raised: the work
a task does is recorded in the database (a queued import, a rescoring run, an outbox row)
and a periodic job picks up what was never enqueued.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def send(name: str, *args, countdown: float | None = None, **kwargs) -> bool:
    """Send task `name` now; answers False (and logs) when the broker cannot be reached."""
    from celery import current_app

    try:
        current_app.send_task(name, args=args, kwargs=kwargs, countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure: the periodic job will catch up
        logger.warning("Could not enqueue %s; a periodic job will pick it up.", name, exc_info=True)
        return False
    return True


def send_on_commit(name: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Send task `name` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(name, *args, countdown=countdown, **kwargs), robust=True)
