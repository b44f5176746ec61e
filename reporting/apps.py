from django.apps import AppConfig


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = "Reports"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions
        from core import events
        from personas import insights
        from reporting import personas
        from reporting.services import dirty

        # A write that changes a past day's cohort marks the day in its own transaction, so
        # reports compute it live until the roll-up has rewritten its snapshot.
        events.subscribe(
            *dirty.TOPICS,
            name="reporting.days_mark",
            handler=dirty.days_mark,
            in_transaction=True,
            accepts=dirty.concerns,
        )

        # The persona pages show what the leads say about each persona.
        insights.provide(
            insights.Measures(
                performance=lambda ids=None: personas.persona_performance(persona_ids=ids),
                monthly_trend=lambda persona: personas.persona_monthly_trend(persona=persona),
                window_days=personas.WINDOW_DAYS,
                recent_days=personas.RECENT_DAYS,
            )
        )

        everyone = ("reporting.view_weeklyreview", "reporting.add_reviewactionitem")
        register_permissions(Role.MARKETING, *everyone, "reporting.change_reviewactionitem")
        register_permissions(Role.SALES, *everyone, "reporting.change_reviewactionitem")
        register_permissions(
            Role.MANAGER,
            *everyone,
            "reporting.change_reviewactionitem",
            "reporting.delete_reviewactionitem",
            # Reactions the product owes (core's outbox): seen and retried by managers.
            "core.view_outboxmessage",
            "core.change_outboxmessage",
        )
