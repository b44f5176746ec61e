"""Page caches are an optimisation: when the cache cannot be reached, the page is computed
as if nothing were cached, and the failure is logged, never shown to the user.

Django's Redis backend raises on a refused or timed-out connection; a Redis outage would
otherwise turn the dashboard and every rep's queue into errors.
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:  # noqa: BLE001 - any backend failure means "not cached"
        logger.warning("Cache unreachable; computing the page instead.", exc_info=True)
        return {}


def cache_set_many(values: dict, timeout: int) -> None:
    try:
        cache.set_many(values, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("Cache unreachable; the page was not cached.", exc_info=True)
