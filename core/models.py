"""The outbox: reactions other apps must perform after a change, written in its transaction.

A row is one batch of events of one topic for one subscribed handler. It is written by
`core.events.publish` in the same transaction as the change, so the reaction exists exactly
when the change does; `core.outbox` consumes rows with `SKIP LOCKED`, runs the handler in
the same transaction that deletes the row (a reaction is applied once), and on failure keeps
the row with a back-off. Rows that keep failing are shown to managers.
"""

from django.db import models

from core.json import EventEncoder


class OutboxMessage(models.Model):
    handler = models.CharField(max_length=80, help_text="The subscribed handler's name.")
    topic = models.CharField(max_length=60, help_text="The event type, e.g. lead.handed_off.")
    payloads = models.JSONField(
        encoder=EventEncoder, help_text="The events of this batch (a list of objects)."
    )
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    available_at = models.DateTimeField(help_text="Not tried again before this instant.")
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["available_at", "id"], name="outbox_available")]

    def __str__(self) -> str:
        return f"{self.topic} → {self.handler} ({len(self.payloads)} events)"

    @property
    def events(self) -> int:
        return len(self.payloads)
