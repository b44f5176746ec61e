"""The API router: every app registers its viewsets here, under /api/v1/."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()


def register_app_routes() -> None:
    """Import each app's API module so it can register its viewsets on `router`."""
    from importlib import import_module

    for app in ("accounts", "leads", "personas", "sla", "goals", "reporting"):
        try:
            import_module(f"{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.api":
                raise
