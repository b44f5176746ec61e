from django.apps import AppConfig


class PersonasConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "personas"
    verbose_name = "Personas"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions

        everyone = (
            "personas.view_persona",
            "personas.view_interview",
            "personas.view_journeystage",
        )
        # Marketing owns personas; sales contributes the interviews; managers do everything.
        register_permissions(
            Role.MARKETING,
            *everyone,
            "personas.add_persona",
            "personas.change_persona",
            "personas.add_interview",
            "personas.change_interview",
            "personas.add_journeystage",
            "personas.change_journeystage",
        )
        register_permissions(
            Role.SALES, *everyone, "personas.add_interview", "personas.change_interview"
        )
        register_permissions(
            Role.MANAGER,
            *everyone,
            *(
                f"personas.{action}_{model}"
                for action in ("add", "change", "delete")
                for model in ("persona", "interview", "journeystage")
            ),
        )
