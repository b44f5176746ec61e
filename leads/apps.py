from django.apps import AppConfig


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from accounts.models import Role
        from accounts.roles import register_permissions

        def crud(model: str) -> tuple[str, ...]:
            return tuple(
                f"leads.{action}_{model}" for action in ("view", "add", "change", "delete")
            )

        # Everybody reads the shared vocabulary: products, campaigns, definitions, history.
        reading = (
            "leads.view_lead",
            "leads.view_product",
            "leads.view_campaign",
            "leads.view_qualificationdefinition",
            "leads.view_rescorerun",
            "leads.view_stagetransition",
            "leads.view_event",
            "leads.view_contactattempt",
            "leads.view_salesfeedback",
            "leads.view_routingassignment",
        )
        marketing = (
            *reading,
            *crud("lead"),
            *crud("product"),
            *crud("campaign"),
            "leads.add_qualificationdefinition",
            "leads.change_qualificationdefinition",
            "leads.add_event",
            "leads.add_stagetransition",
            "leads.add_routingassignment",
        )
        sales = (
            *reading,
            # Their own leads only (leads.selectors.can_edit).
            "leads.change_lead",
            "leads.add_stagetransition",
            "leads.add_contactattempt",
            "leads.add_salesfeedback",
            "leads.add_routingassignment",
        )
        register_permissions(Role.MARKETING, *marketing)
        register_permissions(Role.SALES, *sales)
        register_permissions(
            Role.MANAGER,
            *marketing,
            *sales,
            "leads.activate_qualificationdefinition",
            *crud("routingrule"),
        )
