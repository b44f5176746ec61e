from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: domain errors, the event bus and its outbox, bulk writes, caching,
    API and form helpers. It imports no app of the project; every app may import it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import lookups  # noqa: F401 - registers `field__any`
