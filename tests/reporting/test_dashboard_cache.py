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


def _cards_rendered(response) -> int:
    return [template.name for template in response.templates].count(
        "reporting/_dashboard_cards.html"
    )


def test_the_shared_cards_are_rendered_once_for_every_reader_of_their_figures(
    cached_dashboard, client, marketer, manager
):
    LeadFactory.create_batch(2)
    manager.time_zone = marketer.time_zone
    manager.save(update_fields=["time_zone"])
    client.force_login(marketer)
    first = client.get("/")
    assert _cards_rendered(first) == 1
    # Another reader in the same time zone: the cards' HTML comes out of the cache, and
    # reads exactly as it was rendered.
    client.force_login(manager)
    second = client.get("/")
    assert _cards_rendered(second) == 0
    cards = 'data-testid="funnel-count-lead">2<'
    assert cards in first.content.decode() and cards in second.content.decode()
    # A reader in another time zone gets cards rendered in theirs.
    manager.time_zone = "Asia/Tokyo"
    manager.save(update_fields=["time_zone"])
    assert _cards_rendered(client.get("/")) == 1
    # Figures computed anew (the minute is over) are new HTML, never the old cards.
    LeadFactory()
    redis = cache._cache.get_client(write=True)  # the figures' entry only, not the cards'
    redis.delete(*[k for k in redis.keys("*reporting:dashboard:*") if b":cards:" not in k])
    third = client.get("/")
    assert _cards_rendered(third) == 1
    assert 'data-testid="funnel-count-lead">3<' in third.content.decode()


def test_the_cards_are_rendered_every_time_with_the_cache_off(settings, client, marketer):
    settings.DASHBOARD_CACHE_SECONDS = 0
    client.force_login(marketer)
    assert _cards_rendered(client.get("/")) == 1
    assert _cards_rendered(client.get("/")) == 1
