import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_rep_logs_in_and_sees_the_dashboard_shell(page, login, rep, artifact_path):
    login(rep)
    assert page.get_by_test_id("dashboard-title").inner_text() == "Shared dashboard"
    nav = page.locator("#main-nav")
    for label in ("Dashboard", "Leads", "Personas", "Goals", "SLA", "Reports"):
        assert nav.get_by_role("link", name=label).is_visible()
    # Bootstrap's CSS and JS are loaded from our own static files: the dropdown opens.
    page.get_by_test_id("user-menu").click()
    assert page.get_by_role("button", name="Log out").is_visible()
    page.screenshot(path=artifact_path("dashboard-shell.png"), full_page=True)


def test_a_wrong_password_shows_a_message_and_stays_on_login(page, rep):
    page.goto("/login/")
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    assert "enter a correct username and password" in page.content()
    assert "/login/" in page.url


def test_logging_out_returns_to_the_login_page(page, login, rep):
    login(rep)
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
