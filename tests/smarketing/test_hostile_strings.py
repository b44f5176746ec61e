"""Autoescaping everywhere: with a hostile string in every free-text field of every object,
no page of the app, as any role, carries it unescaped.

The pages and the objects behind them are the accessibility walk's (every GET page of the
URL configuration, `tests/browser/test_accessibility.py`); here they are read through
Django's test client, after every text column of the project's tables has been overwritten
with markup that would run if a template let it through.
"""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat, Left

from accounts.models import Role
from tests.browser.test_accessibility import PAGES, build_world
from tests.conftest import make_user

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
MARKERS = ("<script>alert(1)", "onerror=alert(2)>", '"><img')
PROJECT_APPS = ("accounts", "personas", "leads", "sla", "goals", "reporting", "webhooks")
# Text a template shows as data but the product also uses as a key or an address.
KEPT = {"username", "password", "email", "url", "time_zone", "secret", "key", "code", "type"}


def _poison() -> int:
    """Every free-text column (no choices, long enough) of every project table, set to
    HOSTILE plus the row's id (unique columns stay unique). Answers the columns changed."""
    changed = 0
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or model._meta.proxy:
            continue
        if not model._meta.managed or model.__name__.endswith("Event"):
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            if field.name in KEPT or isinstance(field, models.SlugField | models.EmailField):
                continue
            if field.max_length is not None and field.max_length < len(HOSTILE) + 12:
                continue
            value = Concat(Value(HOSTILE), Cast("pk", models.TextField()))
            if field.max_length:
                value = Left(value, field.max_length)
            model.objects.update(**{field.name: value})
            changed += 1
    return changed


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["rep", "marketer", "manager", "integrator"])
def test_no_page_carries_a_hostile_string_unescaped(
    role, client, rep, other_rep, marketer, manager, sales_team
):
    integrator = make_user("integrator", Role.MANAGER, sales_team)
    integrator.groups.add(Group.objects.get(name=Role.INTEGRATIONS))
    users = {"rep": rep, "marketer": marketer, "manager": manager, "integrator": integrator}
    world = build_world(
        manager=manager, rep=rep, other_rep=other_rep, marketer=marketer, integrator=integrator
    )
    assert _poison() > 40
    client.force_login(users[role])
    opened, shown, leaks = 0, 0, []
    for addresses in PAGES.values():
        for address in addresses(world):
            response = client.get(address)
            if response.status_code != 200:
                continue
            opened += 1
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode("utf-8", "replace")
            leaks += [f"{address}: {marker}" for marker in MARKERS if marker in content]
            shown += "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert opened > 10
    # The strings did reach the pages, escaped (the test can see a leak where there is one).
    assert shown > opened // 3, (shown, opened)
    assert not leaks, "\n".join(leaks)
