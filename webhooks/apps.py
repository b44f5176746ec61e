from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions
        from core import events
        from webhooks import services

        # Every public event becomes one delivery per active subscription to its type.
        events.subscribe(
            *services.EVENT_TYPES,
            name="webhooks.deliveries",
            handler=services.deliveries_react,
            wants=services.wants,
        )
        register_permissions(
            Role.MANAGER, "webhooks.view_webhooksubscription", "webhooks.view_webhookdelivery"
        )
        register_permissions(
            Role.INTEGRATIONS,
            "webhooks.view_webhooksubscription",
            "webhooks.add_webhooksubscription",
            "webhooks.change_webhooksubscription",
            "webhooks.delete_webhooksubscription",
            "webhooks.view_webhookdelivery",
            "authtoken.view_token",
            "authtoken.add_token",
            "authtoken.delete_token",
        )
