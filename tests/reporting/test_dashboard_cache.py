"""The shared dashboard's figures are cached per period, so many readers cost one report."""

import pytest
from django.core.cache import cache

from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached_dashboard(settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_a_second_reader_gets_the_cached_figures_without_the_report_queries(
    cached_dashboard, client, marketer, django_assert_max_num_queries, django_assert_num_queries
):
    LeadFactory.create_batch(3)
    client.force_login(marketer)
    client.get("/accounts/profile/")  # warm the session
    with django_assert_max_num_queries(40) as first:
        html = client.get("/").content.decode()
    assert "refreshed every 60 s" in html
    # Only the page chrome now (session, user, the bell, roles) and the reader's own leads
    # at risk.
    with django_assert_num_queries(5):
        again = client.get("/").content.decode()
    assert len(first.captured_queries) > 4
    assert again.count('data-testid="funnel-count-lead">3<') == 1


def test_the_cached_figures_are_kept_for_their_period_only(cached_dashboard, client, marketer):
    LeadFactory.create_batch(2)
    client.force_login(marketer)
    assert 'data-testid="funnel-count-lead">2<' in client.get("/").content.decode()
    LeadFactory()
    # Same period: the cached figures (up to a minute old, as the page says).
    assert 'data-testid="funnel-count-lead">2<' in client.get("/").content.decode()
    cache.clear()
    assert 'data-testid="funnel-count-lead">3<' in client.get("/").content.decode()


def test_the_dashboard_is_computed_when_the_cache_is_down(cache_unreachable, client, marketer):
    LeadFactory.create_batch(2)
    client.force_login(marketer)
    response = client.get("/")
    assert response.status_code == 200
    assert 'data-testid="funnel-count-lead">2<' in response.content.decode()
