import time

import pytest
from django.core.cache import cache

from smarketing.tasks import HEARTBEAT_KEY, heartbeat, ping

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker, rep, marketer):
    result = ping.delay("hello").get(timeout=30)
    # The worker answered from its own process, reading the rows this test committed.
    assert result == {"token": "hello", "users": 2}


def test_the_heartbeat_task_records_when_a_worker_last_ran(celery_worker):
    cache.delete(HEARTBEAT_KEY)
    heartbeat.delay()
    deadline = time.monotonic() + 30
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None
