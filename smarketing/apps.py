from django.apps import AppConfig


class SmarketingConfig(AppConfig):
    """The roof: settings, urls, the Celery app, the API router and project commands
    (`seed_demo`). It may import every app; no app imports it."""

    name = "smarketing"
    verbose_name = "Smarketing"
