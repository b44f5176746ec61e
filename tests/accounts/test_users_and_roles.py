import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_permissions(manager, marketer, rep):
    names = set(Group.objects.values_list("name", flat=True))
    assert {role.value for role in Role} <= names
    assert manager.has_perm("accounts.change_team")
    assert not rep.has_perm("accounts.change_team")
    assert rep.has_perm("accounts.view_team")


def test_the_admin_role_gets_every_permission(admin_user):
    admin_group = Group.objects.get(name=Role.ADMIN.value)
    from django.contrib.auth.models import Permission

    assert admin_group.permissions.count() == Permission.objects.count()


def test_a_user_has_only_the_roles_given(rep, manager):
    assert rep.role_names == ["Sales"]
    assert manager.role_names == ["Manager"]


def test_an_unknown_time_zone_is_refused(rep):
    rep.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as error:
        rep.full_clean()
    assert "not a known IANA time zone" in str(error.value)


def test_pages_are_shown_in_the_users_time_zone(client, marketer):
    client.force_login(marketer)
    response = client.get("/")
    assert response.status_code == 200
    assert "Times in Europe/Paris" in response.content.decode()
    assert timezone.get_current_timezone_name() == "UTC"  # the request did not leak its zone


def test_a_user_changes_their_time_zone_on_the_profile_page(client, rep):
    client.force_login(rep)
    response = client.post(
        "/accounts/profile/",
        {
            "first_name": "Ravi",
            "last_name": "Patel",
            "email": "rep@example.com",
            "time_zone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.time_zone == "Asia/Tokyo"


def test_a_bad_time_zone_on_the_profile_page_is_a_form_error(client, rep):
    client.force_login(rep)
    response = client.post("/accounts/profile/", {"time_zone": "Nowhere/Land", "email": "x"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    rep.refresh_from_db()
    assert rep.time_zone == "America/New_York"


def test_password_change_page_works(client, rep):
    client.force_login(rep)
    response = client.post(
        "/password/change/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-New-pass-2026!",
            "new_password2": "a-New-pass-2026!",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a-New-pass-2026!")
