"""Fail fast, with a clear message, when PostgreSQL or Redis is not reachable for the tests."""

import os
import sys
from urllib.parse import urlparse

import psycopg
import redis


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smarketing")
    broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    failures = []
    parsed = urlparse(database_url)
    try:
        psycopg.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        failures.append(
            f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} ({exc}).\n"
            "  Start it, or point DATABASE_URL at a server where the user may create databases."
        )
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        failures.append(
            f"Redis is not reachable at {broker_url} ({exc}).\n"
            "  Start it, or point CELERY_BROKER_URL at a running Redis."
        )
    for failure in failures:
        print(f"make test: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
