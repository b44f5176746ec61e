from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        from accounts import services
        from accounts.roles import sync_role_groups
        from core import events

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
        # Emails are sent by a worker, never in the request that caused them.
        events.subscribe(
            services.CREATED,
            name="accounts.notification_emails",
            handler=services.notification_emails_react,
            inline=False,
        )
