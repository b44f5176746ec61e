from django.apps import AppConfig


class SlaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions
        from leads import signals
        from sla import receivers

        signals.leads_handed_off.connect(receivers.start_clocks, dispatch_uid="sla.start_clocks")
        signals.contact_attempts_logged.connect(
            receivers.record_attempts, dispatch_uid="sla.record_attempts"
        )
        signals.lead_stage_changed.connect(receivers.close_clocks, dispatch_uid="sla.close_clocks")
        signals.lead_assigned.connect(receivers.reassign_clocks, dispatch_uid="sla.reassign_clocks")

        readable = (
            "sla.view_businesscalendar",
            "sla.view_slaagreement",
            "sla.view_slaclock",
        )
        register_permissions(Role.MARKETING, *readable)
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
        )
