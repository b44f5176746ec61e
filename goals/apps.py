from django.apps import AppConfig


class GoalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "goals"
    verbose_name = "Goals"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions

        models = ("goal", "revenueplan", "planproductshare", "objective", "keyresult", "checkin")
        everyone = tuple(f"goals.view_{model}" for model in models)
        # Each team manages its own goals and OKRs (see goals.permissions); managers everything.
        register_permissions(Role.MARKETING, *everyone, "goals.manage_marketing_goals")
        register_permissions(Role.SALES, *everyone, "goals.manage_sales_goals")
        register_permissions(
            Role.MANAGER,
            *everyone,
            "goals.manage_marketing_goals",
            "goals.manage_sales_goals",
            *(
                f"goals.{action}_{model}"
                for action in ("add", "change", "delete")
                for model in models
            ),
        )
