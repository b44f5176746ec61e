from django.apps import AppConfig


class SlaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions
        from core import events
        from sla.services import clocks

        # Hand-offs start clocks; moves, assignments and attempts recompute them: one
        # durable reaction, tried right after the change commits, for a whole batch.
        events.subscribe(
            *clocks.TOPICS, name="sla.clocks", handler=clocks.clocks_react, accepts=clocks.concerns
        )

        readable = (
            "sla.view_businesscalendar",
            "sla.view_slaagreement",
            "sla.view_slaclock",
        )
        register_permissions(Role.MARKETING, *readable, "sla.view_commitments")
        register_permissions(Role.SALES, *readable)
        register_permissions(
            Role.MANAGER,
            *readable,
            "sla.add_businesscalendar",
            "sla.change_businesscalendar",
            "sla.delete_businesscalendar",
            "sla.add_slaagreement",
            "sla.change_slaagreement",
            "sla.delete_slaagreement",
            "sla.view_compliance",
            "sla.view_commitments",
        )
