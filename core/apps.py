from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: domain errors, the event bus and its outbox, bulk writes, caching,
    API and form helpers. It imports no app of the project; every app may import it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import (
            durable_jobs,
            events,
            lookups,  # noqa: F401 - registers `field__any`
        )

        # Durable sends of tasks, tried right after their commit, then by the outbox drain.
        events.subscribe(
            durable_jobs.REQUESTED, name=durable_jobs.HANDLER, handler=durable_jobs.requested_send
        )
