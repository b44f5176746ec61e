"""API throttling that fails open: throttles count requests in the cache, and with the cache
down a request is let through (and the failure logged) rather than every authenticated call
failing. Kept apart from core.rest: DRF's views read the throttle classes at import time."""

import logging

from rest_framework import throttling

logger = logging.getLogger(__name__)


class _FailOpen:
    """Allow the request when the cache cannot be read or written."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - any cache failure: do not throttle
            logger.warning("Throttle cache unreachable; request allowed.", exc_info=True)
            return True


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass
