"""Settings outside `make run`: the URLs of a running `make run`, a clear error otherwise,
and one development key shared by every process."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from smarketing.settings import development_secret_key

ROOT = Path(__file__).resolve().parents[2]
URLS = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY")


def settings_in_a_fresh_process(var_dir: Path, expression: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in URLS}
    env |= {
        "DJANGO_SETTINGS_MODULE": "smarketing.settings",
        "SMARKETING_VAR_DIR": str(var_dir),
        "DEBUG": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print({expression})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_database_url_or_make_run_settings_say_what_to_do(tmp_path):
    result = settings_in_a_fresh_process(tmp_path, "settings.DATABASES")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL is not set and `make run` is not running" in result.stderr


def test_a_shell_beside_make_run_reads_the_urls_of_its_servers(tmp_path):
    (tmp_path / "services.env").write_text(
        f"SMARKETING_SERVICES_PID={os.getpid()}\n"
        "DATABASE_URL=postgres://postgres@127.0.0.1:45432/smarketing\n"
        "CELERY_BROKER_URL=redis://127.0.0.1:46379/0\n"
        "REDIS_URL=redis://127.0.0.1:46379/2\n"
    )
    result = settings_in_a_fresh_process(
        tmp_path,
        "settings.DATABASES['default']['PORT'], settings.CELERY_BROKER_URL,"
        " settings.CACHES['default']['LOCATION']",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "45432",
        "redis://127.0.0.1:46379/0",
        "redis://127.0.0.1:46379/2",
    ]


def test_the_urls_of_a_killed_make_run_are_not_used(tmp_path):
    finished = subprocess.Popen(["true"])
    finished.wait()
    (tmp_path / "services.env").write_text(
        f"SMARKETING_SERVICES_PID={finished.pid}\n"
        "DATABASE_URL=postgres://postgres@127.0.0.1:45432/smarketing\n"
        "CELERY_BROKER_URL=redis://127.0.0.1:46379/0\n"
    )
    result = settings_in_a_fresh_process(tmp_path, "settings.DATABASES")
    assert result.returncode != 0
    assert "`make run` is not running" in result.stderr


def test_the_development_key_is_made_once_private_and_shared_by_every_process(tmp_path):
    key = development_secret_key(tmp_path / "secret_key")
    assert len(key) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert development_secret_key(tmp_path / "secret_key") == key
    (tmp_path / "services.env").write_text(
        f"SMARKETING_SERVICES_PID={os.getpid()}\n"
        "DATABASE_URL=postgres://postgres@127.0.0.1:45432/smarketing\n"
        "CELERY_BROKER_URL=redis://127.0.0.1:46379/0\n"
    )
    other_process = settings_in_a_fresh_process(tmp_path, "settings.SECRET_KEY")
    assert other_process.stdout.strip() == key
    assert sorted(path.name for path in tmp_path.iterdir()) == ["secret_key", "services.env"]
