from django.apps import AppConfig


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = "Reports"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions
        from reporting import receivers
        from smarketing.events import integration_events

        # Every integration event becomes one delivery per active subscription to its type
        # (a batch of events at a time).
        integration_events.connect(
            receivers.webhook_deliveries_for_events, dispatch_uid="reporting.webhooks"
        )

        everyone = ("reporting.view_weeklyreview", "reporting.add_reviewactionitem")
        register_permissions(Role.MARKETING, *everyone, "reporting.change_reviewactionitem")
        register_permissions(Role.SALES, *everyone, "reporting.change_reviewactionitem")
        register_permissions(
            Role.MANAGER,
            *everyone,
            "reporting.change_reviewactionitem",
            "reporting.delete_reviewactionitem",
            "reporting.view_webhooksubscription",
            "reporting.view_webhookdelivery",
        )
