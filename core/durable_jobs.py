"""Durable sends of Celery tasks: the request to send is an outbox row.

For the sends a person waits for (an import, the rescoring after an activation), `send`
writes the request in the caller's transaction (a `job.requested` event); it is tried right
after commit and, when the broker is down, again by the outbox drain until the broker takes
it (`core.outbox`). A broker outage delays such a task, never loses it, and the page that
asked for it answers as usual. The tasks sent this way must be safe to receive twice: a
send that went through may go again when its row is retried.
"""

from core import events, jobs
from core.subscriptions import Event

REQUESTED = "job.requested"
HANDLER = "core.jobs"


class BrokerUnavailable(RuntimeError):
    """A task could not be handed to the broker; the outbox keeps the request."""


def send(name: str, *args) -> None:
    """Send task `name` with JSON `args` once the current transaction commits, and keep
    trying until the broker has taken it. Call it inside the transaction of the work the
    task will do (outside one, the request is written and tried at once)."""
    events.publish(REQUESTED, [{"task": name, "args": list(args)}])


def requested_send(batch: list[Event]) -> None:
    """The outbox handler: send each requested task; raise when one could not be sent, so
    the rows stay for a retry."""
    failed = [
        event.payload["task"]
        for event in batch
        if not jobs.send(event.payload["task"], *event.payload.get("args", ()))
    ]
    if failed:
        raise BrokerUnavailable(f"Could not enqueue {', '.join(sorted(set(failed)))}.")
